/*
 * @strata/agent-native: chunker v1's cut rule (agent/src/chunker/chunker.ts,
 * mirrored line by line) and SHA-256 of every chunk, in C, off the JS thread.
 *
 * Why: in plain JS the gear loop (~0.6 GB/s) and one node:crypto hash call per
 * ~16 KiB chunk were the two largest items on the agent's main thread. Here the
 * same loop runs at ~2.7 GB/s, and hashing uses the SHA-256 of the OpenSSL that
 * Node itself carries (its symbols are exported by the node binary; nothing is
 * vendored or hand-written), on libuv's thread pool (napi_create_async_work).
 *
 * The parameters and the gear table come from JS (params.ts): one source of truth.
 * A stream carries the gear state and the SHA-256 context of its unfinished chunk
 * across blocks, so a chunk spanning blocks is hashed incrementally, never joined.
 * Contract: a block's bytes must not change until its push has settled (they are
 * read in place on another thread); pushes on one stream must not overlap
 * (index.js queues them); nothing keeps a reference to a block after its push.
 *
 * readSmall does a whole small file in one pool trip (open, read, fstat, close,
 * cut, hash): the backup's main thread otherwise paid four fs/promises calls
 * (a promise, a request and a pool round trip each) per small file.
 */
#define _GNU_SOURCE 1 /* pread, O_CLOEXEC and st_mtim under -std=c11 */
#define NAPI_VERSION 8
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <node_api.h>
#include <uv.h>
#include <openssl/sha.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
  uint32_t gear[256];
  size_t min, normal, max;
  uint32_t mask_s, mask_l;
} params_t;

typedef struct {
  params_t p;
  size_t len;       /* bytes of the unfinished chunk before the next block */
  uint32_t h;       /* its gear hash */
  SHA256_CTX sha;   /* the hash of those bytes (valid when len > 0) */
  int busy;         /* a push is running on the thread pool */
} stream_t;

typedef struct {
  size_t count, cap;
  uint32_t *ends;
  uint8_t *hashes;
} cuts_t;

#define CHECK(env, call)                                        \
  do {                                                          \
    if ((call) != napi_ok) {                                    \
      throw_last(env);                                          \
      return NULL;                                              \
    }                                                           \
  } while (0)

static void throw_last(napi_env env) {
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, "ERR_STRATA_NATIVE", info && info->error_message ? info->error_message : "N-API call failed");
}

static int cuts_init(cuts_t *c, size_t n, size_t min) {
  /* Every chunk but the last of a block is at least min bytes, and a block can
   * also end the chunk carried in from before it: n / min + 2 is enough. */
  c->count = 0;
  c->cap = n / min + 2;
  c->ends = malloc(c->cap * sizeof(uint32_t));
  c->hashes = malloc(c->cap * 32);
  return c->ends && c->hashes;
}

static void cuts_free(cuts_t *c) {
  free(c->ends);
  free(c->hashes);
  c->ends = NULL;
  c->hashes = NULL;
}

/* Chunker.push, in C: finds the chunks `buf` completes, hashing each. */
static void cut(stream_t *s, const uint8_t *buf, size_t n, cuts_t *out) {
  const uint32_t *G = s->p.gear;
  const size_t min = s->p.min, normal = s->p.normal, max = s->p.max;
  const uint32_t mS = s->p.mask_s, mL = s->p.mask_l;
  size_t len = s->len, start = 0, i = 0;
  uint32_t h = s->h;
  for (;;) {
    size_t cur = len + i - start;
    if (cur < min) {
      size_t skip = min - cur;
      if (i + skip > n) { i = n; break; }
      i += skip;
      cur = min;
    }
    size_t c = SIZE_MAX;
    if (cur < normal) {
      size_t end = i + (normal - cur);
      if (end > n) end = n;
      for (; i < end; i++) {
        h = (h << 1) + G[buf[i]];
        if ((h & mS) == 0) { c = i + 1; break; }
      }
      if (c == SIZE_MAX && i == n) break;
      cur = len + i - start;
    }
    if (c == SIZE_MAX) {
      size_t end = i + (max - cur);
      if (end > n) end = n;
      for (; i < end; i++) {
        h = (h << 1) + G[buf[i]];
        if ((h & mL) == 0) { c = i + 1; break; }
      }
      if (c == SIZE_MAX) {
        if (len + i - start < max) break; /* block exhausted */
        c = i;
      }
    }
    uint8_t *d = out->hashes + 32 * out->count;
    if (len == 0) {
      SHA256(buf + start, c - start, d);
    } else {
      SHA256_Update(&s->sha, buf + start, c - start);
      SHA256_Final(d, &s->sha);
    }
    out->ends[out->count++] = (uint32_t)c;
    len = 0;
    start = c;
    i = c;
    h = 0;
  }
  if (start < n) {
    if (len == 0) SHA256_Init(&s->sha);
    SHA256_Update(&s->sha, buf + start, n - start);
    len += n - start;
  }
  s->len = len;
  s->h = h;
}

/* Ends the stream: the last chunk's digest into d (returns 1) or nothing pending (0). */
static int finish(stream_t *s, uint8_t *d) {
  int has = s->len > 0;
  if (has) SHA256_Final(d, &s->sha);
  s->len = 0;
  s->h = 0;
  return has;
}

/* ---- argument helpers (each throws a TypeError/RangeError and returns 0 on bad input) ---- */

static int get_bytes(napi_env env, napi_value v, const char *what, const uint8_t **data, size_t *n) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (is) {
    napi_typedarray_type t;
    void *p = NULL;
    size_t len = 0;
    if (napi_get_typedarray_info(env, v, &t, &len, &p, NULL, NULL) != napi_ok) return throw_last(env), 0;
    if (t == napi_uint8_array) {
      *data = len ? p : (const uint8_t *)"";
      *n = len;
      return 1;
    }
  }
  char msg[160];
  snprintf(msg, sizeof msg, "%s must be a Buffer or Uint8Array", what);
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return 0;
}

static int get_u32(napi_env env, napi_value v, const char *what, uint32_t *out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  double d = 0;
  if (t == napi_number) napi_get_value_double(env, v, &d);
  if (t != napi_number || d != d || d < 0 || d > 4294967295.0 || d != (double)(uint64_t)d) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s must be an integer from 0 to 2^32-1", what);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return 0;
  }
  *out = (uint32_t)d;
  return 1;
}

/* Externals are tagged so that a stream is never taken for a config or a stray external. */
static const napi_type_tag PARAMS_TAG = {0x7374726174615f70ULL, 0x6172616d73763101ULL};
static const napi_type_tag STREAM_TAG = {0x7374726174615f73ULL, 0x747265616d763101ULL};

static void *get_tagged(napi_env env, napi_value v, const napi_type_tag *tag, const char *what) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  bool ok = false;
  if (t == napi_external) napi_check_object_type_tag(env, v, tag, &ok);
  void *p = NULL;
  if (ok) napi_get_value_external(env, v, &p);
  if (!p) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s: not a handle made by this addon", what);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  }
  return p;
}

static void free_ptr(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static napi_value make_cuts(napi_env env, const cuts_t *c) {
  napi_value ab, ends, hashes, obj;
  void *p = NULL;
  CHECK(env, napi_create_arraybuffer(env, c->count * 4, &p, &ab));
  if (c->count) memcpy(p, c->ends, c->count * 4);
  CHECK(env, napi_create_typedarray(env, napi_uint32_array, c->count, ab, 0, &ends));
  CHECK(env, napi_create_buffer_copy(env, c->count * 32, c->count ? (const void *)c->hashes : "", NULL, &hashes));
  CHECK(env, napi_create_object(env, &obj));
  CHECK(env, napi_set_named_property(env, obj, "ends", ends));
  CHECK(env, napi_set_named_property(env, obj, "hashes", hashes));
  return obj;
}

/* createParams(gear: Int32Array(256), min, normal, max, maskS, maskL) → handle */
static napi_value create_params(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "createParams(gear, min, normal, max, maskS, maskL) needs 6 arguments");
    return NULL;
  }
  bool is = false;
  napi_typedarray_type t = napi_uint8_array;
  size_t len = 0;
  void *g = NULL;
  napi_is_typedarray(env, argv[0], &is);
  if (is) CHECK(env, napi_get_typedarray_info(env, argv[0], &t, &len, &g, NULL, NULL));
  if (!is || (t != napi_int32_array && t != napi_uint32_array) || len != 256) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "gear must be an Int32Array of 256 entries");
    return NULL;
  }
  uint32_t v[5];
  static const char *names[5] = {"minSize", "normalSize", "maxSize", "maskS", "maskL"};
  for (int k = 0; k < 5; k++) {
    napi_valuetype vt;
    napi_typeof(env, argv[1 + k], &vt);
    /* Masks are int32 in JS (negative when the top bit is set): take their bits. */
    if (k >= 3 && vt == napi_number) {
      int64_t m = 0;
      napi_get_value_int64(env, argv[1 + k], &m);
      v[k] = (uint32_t)m;
      continue;
    }
    if (!get_u32(env, argv[1 + k], names[k], &v[k])) return NULL;
  }
  if (v[0] < 64 || v[0] > v[1] || v[1] > v[2] || v[2] > (1u << 30)) {
    char msg[200];
    snprintf(msg, sizeof msg, "invalid chunker sizes: min %u, normal %u, max %u", v[0], v[1], v[2]);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    return NULL;
  }
  params_t *p = calloc(1, sizeof *p);
  if (!p) {
    napi_throw_error(env, "ERR_STRATA_NATIVE", "out of memory");
    return NULL;
  }
  memcpy(p->gear, g, sizeof p->gear);
  p->min = v[0];
  p->normal = v[1];
  p->max = v[2];
  p->mask_s = v[3];
  p->mask_l = v[4];
  napi_value out;
  if (napi_create_external(env, p, free_ptr, NULL, &out) != napi_ok) {
    free(p);
    throw_last(env);
    return NULL;
  }
  CHECK(env, napi_type_tag_object(env, out, &PARAMS_TAG));
  return out;
}

/* streamOpen(params) → stream handle */
static napi_value stream_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "streamOpen(params) needs a params handle");
    return NULL;
  }
  params_t *p = get_tagged(env, argv[0], &PARAMS_TAG, "params");
  if (!p) return NULL;
  stream_t *s = calloc(1, sizeof *s);
  if (!s) {
    napi_throw_error(env, "ERR_STRATA_NATIVE", "out of memory");
    return NULL;
  }
  s->p = *p;
  napi_value out;
  if (napi_create_external(env, s, free_ptr, NULL, &out) != napi_ok) {
    free(s);
    throw_last(env);
    return NULL;
  }
  CHECK(env, napi_type_tag_object(env, out, &STREAM_TAG));
  return out;
}

/* ---- async jobs on libuv's thread pool ---- */

enum { JOB_PUSH, JOB_WHOLE, JOB_MANY, JOB_FILE };

/* The fields of the fstat after reading that the backup uses, in this order
 * (the file worker's order: backup/file-worker.ts statOf). */
enum { ST_DEV, ST_INO, ST_MODE, ST_NLINK, ST_UID, ST_GID, ST_SIZE, ST_MTIME_NS, ST_CTIME_NS, ST_COUNT };

/* JOB_FILE: a small file opened, read, fstat'ed and closed on the pool thread. */
typedef struct {
  char *path;          /* NUL-terminated copy (the JS Buffer has no NUL) */
  int flags, noatime;
  uint8_t *region;     /* read into; kept alive by keep_buf */
  size_t cap;
  size_t n;            /* bytes read; n == cap: the file grew */
  int err;             /* errno, 0 if none */
  const char *stage;   /* "open" | "read" when err */
  const char *syscall;
  int64_t st[ST_COUNT];
} file_job_t;

typedef struct {
  int kind;
  napi_async_work work;
  napi_deferred deferred;
  napi_ref keep_buf;    /* the block: alive until the job is done */
  napi_ref keep_extra;  /* the stream handle or the ends array */
  stream_t *s;          /* JOB_PUSH: the stream; JOB_WHOLE: own state */
  const uint8_t *data;
  size_t n;
  const uint32_t *ends; /* JOB_MANY */
  file_job_t *file;     /* JOB_FILE */
  cuts_t out;
} job_t;

static void sha_many(const uint8_t *data, const uint32_t *ends, size_t count, uint8_t *out) {
  size_t start = 0;
  for (size_t k = 0; k < count; k++) {
    SHA256(data + start, ends[k] - start, out + 32 * k);
    start = ends[k];
  }
}

static int64_t ns_of(struct timespec t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

/* Open, read (one byte more than expected: a full region means the file grew), fstat, close;
 * what backup/file.ts openForRead + fh.read + fh.stat + close do, without four pool round trips. */
static void read_file(job_t *j) {
  file_job_t *f = j->file;
  /* O_CLOEXEC as libuv adds it: no child process inherits the descriptor. */
  int fd;
  do fd = open(f->path, f->flags | f->noatime | O_CLOEXEC); while (fd < 0 && errno == EINTR);
  /* O_NOATIME needs ownership or CAP_FOWNER (absent e.g. under root squash or a dropped euid). */
  if (fd < 0 && f->noatime && errno == EPERM) {
    do fd = open(f->path, f->flags | O_CLOEXEC); while (fd < 0 && errno == EINTR);
  }
  if (fd < 0) {
    f->err = errno; f->stage = "open"; f->syscall = "open";
    return;
  }
  size_t n = 0;
  while (n < f->cap) {
    ssize_t r = pread(fd, f->region + n, f->cap - n, (off_t)n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      f->err = errno; f->stage = "read"; f->syscall = "read";
      break;
    }
    if (r == 0) break; /* end of file */
    n += (size_t)r;
  }
  struct stat st;
  if (!f->err && fstat(fd, &st) != 0) {
    f->err = errno; f->stage = "read"; f->syscall = "fstat";
  }
  close(fd); /* read-only: nothing to lose if it fails */
  if (f->err) return;
  f->n = n;
  f->st[ST_DEV] = (int64_t)st.st_dev;
  f->st[ST_INO] = (int64_t)st.st_ino;
  f->st[ST_MODE] = (int64_t)st.st_mode;
  f->st[ST_NLINK] = (int64_t)st.st_nlink;
  f->st[ST_UID] = (int64_t)st.st_uid;
  f->st[ST_GID] = (int64_t)st.st_gid;
  f->st[ST_SIZE] = (int64_t)st.st_size;
  f->st[ST_MTIME_NS] = ns_of(st.st_mtim);
  f->st[ST_CTIME_NS] = ns_of(st.st_ctim);
  if (n == f->cap) return; /* grew: the caller reads it the long way */
  cut(j->s, f->region, n, &j->out);
  if (finish(j->s, j->out.hashes + 32 * j->out.count)) j->out.ends[j->out.count++] = (uint32_t)n;
}

/* { n, ends, hashes, st: BigInt64Array } or { code, errno, syscall, stage, message } */
static napi_value make_file_result(napi_env env, job_t *j) {
  file_job_t *f = j->file;
  napi_value obj, v;
  if (f->err) {
    CHECK(env, napi_create_object(env, &obj));
    int uverr = uv_translate_sys_error(f->err);
    char msg[300];
    snprintf(msg, sizeof msg, "%s: %s, %s", uv_err_name(uverr), uv_strerror(uverr), f->syscall);
    CHECK(env, napi_create_string_utf8(env, uv_err_name(uverr), NAPI_AUTO_LENGTH, &v));
    CHECK(env, napi_set_named_property(env, obj, "code", v));
    CHECK(env, napi_create_int32(env, uverr, &v));
    CHECK(env, napi_set_named_property(env, obj, "errno", v));
    CHECK(env, napi_create_string_utf8(env, f->syscall, NAPI_AUTO_LENGTH, &v));
    CHECK(env, napi_set_named_property(env, obj, "syscall", v));
    CHECK(env, napi_create_string_utf8(env, f->stage, NAPI_AUTO_LENGTH, &v));
    CHECK(env, napi_set_named_property(env, obj, "stage", v));
    CHECK(env, napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &v));
    CHECK(env, napi_set_named_property(env, obj, "message", v));
    return obj;
  }
  obj = make_cuts(env, &j->out);
  if (!obj) return NULL;
  CHECK(env, napi_create_double(env, (double)f->n, &v));
  CHECK(env, napi_set_named_property(env, obj, "n", v));
  napi_value ab, st;
  void *p = NULL;
  CHECK(env, napi_create_arraybuffer(env, sizeof f->st, &p, &ab));
  memcpy(p, f->st, sizeof f->st);
  CHECK(env, napi_create_typedarray(env, napi_bigint64_array, ST_COUNT, ab, 0, &st));
  CHECK(env, napi_set_named_property(env, obj, "st", st));
  return obj;
}

static void job_execute(napi_env env, void *data) {
  (void)env;
  job_t *j = data;
  if (j->kind == JOB_FILE) {
    read_file(j);
    return;
  }
  if (j->kind == JOB_MANY) {
    sha_many(j->data, j->ends, j->out.count, j->out.hashes);
    return;
  }
  cut(j->s, j->data, j->n, &j->out);
  if (j->kind == JOB_WHOLE && finish(j->s, j->out.hashes + 32 * j->out.count)) j->out.ends[j->out.count++] = (uint32_t)j->n;
}

static void job_complete(napi_env env, napi_status status, void *data) {
  job_t *j = data;
  napi_value result = NULL;
  if (status == napi_ok) {
    if (j->kind == JOB_MANY) napi_create_buffer_copy(env, j->out.count * 32, j->out.count ? (const void *)j->out.hashes : "", NULL, &result);
    else if (j->kind == JOB_FILE) result = make_file_result(env, j);
    else result = make_cuts(env, &j->out);
  }
  if (result) {
    napi_resolve_deferred(env, j->deferred, result);
  } else {
    napi_value err, msg;
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_get_and_clear_last_exception(env, &err);
    } else {
      napi_create_string_utf8(env, status == napi_cancelled ? "native chunking cancelled" : "native chunking failed", NAPI_AUTO_LENGTH, &msg);
      napi_create_error(env, NULL, msg, &err);
    }
    napi_reject_deferred(env, j->deferred, err);
  }
  if (j->kind == JOB_PUSH) j->s->busy = 0;
  else if (j->kind == JOB_WHOLE || j->kind == JOB_FILE) free(j->s);
  if (j->file) free(j->file->path);
  free(j->file);
  napi_delete_reference(env, j->keep_buf);
  if (j->keep_extra) napi_delete_reference(env, j->keep_extra);
  napi_delete_async_work(env, j->work);
  cuts_free(&j->out);
  free(j);
}

static napi_value queue(napi_env env, job_t *j, napi_value buf, napi_value extra) {
  napi_value promise, name;
  if (napi_create_reference(env, buf, 1, &j->keep_buf) != napi_ok) goto fail;
  if (extra && napi_create_reference(env, extra, 1, &j->keep_extra) != napi_ok) goto fail;
  if (napi_create_promise(env, &j->deferred, &promise) != napi_ok) goto fail;
  napi_create_string_utf8(env, "strata.chunkHash", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, job_execute, job_complete, j, &j->work) != napi_ok) goto fail;
  if (napi_queue_async_work(env, j->work) != napi_ok) goto fail;
  if (j->kind == JOB_PUSH) j->s->busy = 1;
  return promise;
fail:
  /* (A created promise is left pending and collected; the caller gets the exception.) */
  throw_last(env);
  if (j->keep_buf) napi_delete_reference(env, j->keep_buf);
  if (j->keep_extra) napi_delete_reference(env, j->keep_extra);
  if (j->kind == JOB_WHOLE || j->kind == JOB_FILE) free(j->s);
  if (j->file) free(j->file->path);
  free(j->file);
  cuts_free(&j->out);
  free(j);
  return NULL;
}

static int check_block_size(napi_env env, size_t n) {
  if (n > UINT32_MAX) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "a block must be smaller than 4 GiB");
    return 0;
  }
  return 1;
}

/* streamPush(stream, block) → Promise<{ ends: Uint32Array, hashes: Buffer }> */
static napi_value stream_push(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "streamPush(stream, block) needs 2 arguments");
    return NULL;
  }
  stream_t *s = get_tagged(env, argv[0], &STREAM_TAG, "stream");
  if (!s) return NULL;
  const uint8_t *data;
  size_t n;
  if (!get_bytes(env, argv[1], "block", &data, &n) || !check_block_size(env, n)) return NULL;
  if (s->busy) {
    napi_throw_error(env, "ERR_STRATA_NATIVE_BUSY", "streamPush: the previous push on this stream has not settled");
    return NULL;
  }
  job_t *j = calloc(1, sizeof *j);
  if (!j || !cuts_init(&j->out, n, s->p.min)) {
    if (j) cuts_free(&j->out);
    free(j);
    napi_throw_error(env, "ERR_STRATA_NATIVE", "out of memory");
    return NULL;
  }
  j->kind = JOB_PUSH;
  j->s = s;
  j->data = data;
  j->n = n;
  return queue(env, j, argv[1], argv[0]);
}

/* streamFinish(stream) → Buffer (digest of the last chunk) | null; the stream can then start again. */
static napi_value stream_finish(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  stream_t *s = argc ? get_tagged(env, argv[0], &STREAM_TAG, "stream") : NULL;
  if (!s) {
    if (!argc) napi_throw_type_error(env, "ERR_MISSING_ARGS", "streamFinish(stream) needs a stream handle");
    return NULL;
  }
  if (s->busy) {
    napi_throw_error(env, "ERR_STRATA_NATIVE_BUSY", "streamFinish: a push on this stream has not settled");
    return NULL;
  }
  uint8_t d[32];
  napi_value out;
  if (!finish(s, d)) {
    CHECK(env, napi_get_null(env, &out));
    return out;
  }
  CHECK(env, napi_create_buffer_copy(env, 32, d, NULL, &out));
  return out;
}

/* chunkHash(params, buf, async) → { ends, hashes } of a whole buffer (last chunk included), or a Promise of it. */
static napi_value chunk_hash(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3] = {NULL, NULL, NULL};
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "chunkHash(params, buffer) needs 2 arguments");
    return NULL;
  }
  params_t *p = get_tagged(env, argv[0], &PARAMS_TAG, "params");
  if (!p) return NULL;
  const uint8_t *data;
  size_t n;
  if (!get_bytes(env, argv[1], "buffer", &data, &n) || !check_block_size(env, n)) return NULL;
  bool async = false;
  if (argc >= 3) napi_get_value_bool(env, argv[2], &async);
  stream_t *s = calloc(1, sizeof *s);
  job_t *j = s ? calloc(1, sizeof *j) : NULL;
  if (!j || !cuts_init(&j->out, n, p->min)) {
    if (j) cuts_free(&j->out);
    free(j);
    free(s);
    napi_throw_error(env, "ERR_STRATA_NATIVE", "out of memory");
    return NULL;
  }
  s->p = *p;
  j->kind = JOB_WHOLE;
  j->s = s;
  j->data = data;
  j->n = n;
  if (async) return queue(env, j, argv[1], NULL);
  job_execute(env, j);
  napi_value out = make_cuts(env, &j->out);
  cuts_free(&j->out);
  free(s);
  free(j);
  return out;
}

/*
 * sha256Many(list: Uint8Array[]) → Buffer of 32-byte digests (sync), or
 * sha256Many(buf, ends: Uint32Array, async) → digests of buf[0..ends[0]), buf[ends[0]..ends[1]), …
 */
static napi_value sha256_many(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3] = {NULL, NULL, NULL};
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool is_array = false;
  if (argc >= 1) napi_is_array(env, argv[0], &is_array);
  if (is_array) {
    uint32_t count = 0;
    CHECK(env, napi_get_array_length(env, argv[0], &count));
    void *out_data = NULL;
    napi_value out;
    CHECK(env, napi_create_buffer(env, (size_t)count * 32, &out_data, &out));
    for (uint32_t k = 0; k < count; k++) {
      napi_value el;
      CHECK(env, napi_get_element(env, argv[0], k, &el));
      const uint8_t *d;
      size_t n;
      char what[48];
      snprintf(what, sizeof what, "sha256Many: item %u", k);
      if (!get_bytes(env, el, what, &d, &n)) return NULL;
      SHA256(d, n, (uint8_t *)out_data + 32 * (size_t)k);
    }
    return out;
  }
  if (argc < 2) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "sha256Many needs an array of buffers, or a buffer and a Uint32Array of chunk ends");
    return NULL;
  }
  const uint8_t *data;
  size_t n;
  if (!get_bytes(env, argv[0], "buffer", &data, &n)) return NULL;
  bool is = false;
  napi_typedarray_type t = napi_uint8_array;
  size_t count = 0;
  void *e = NULL;
  napi_is_typedarray(env, argv[1], &is);
  if (is) CHECK(env, napi_get_typedarray_info(env, argv[1], &t, &count, &e, NULL, NULL));
  if (!is || t != napi_uint32_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "sha256Many: ends must be a Uint32Array");
    return NULL;
  }
  const uint32_t *ends = e;
  uint32_t prev = 0;
  for (size_t k = 0; k < count; k++) {
    if (ends[k] < prev || ends[k] > n) {
      char msg[160];
      snprintf(msg, sizeof msg, "sha256Many: end %u at index %zu is out of order or past the %zu-byte buffer", ends[k], k, n);
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
      return NULL;
    }
    prev = ends[k];
  }
  bool async = false;
  if (argc >= 3) napi_get_value_bool(env, argv[2], &async);
  if (!async) {
    void *out_data = NULL;
    napi_value out;
    CHECK(env, napi_create_buffer(env, count * 32, &out_data, &out));
    sha_many(data, ends, count, out_data);
    return out;
  }
  job_t *j = calloc(1, sizeof *j);
  uint8_t *h = j ? malloc(count * 32 + 1) : NULL;
  if (!h) {
    free(j);
    napi_throw_error(env, "ERR_STRATA_NATIVE", "out of memory");
    return NULL;
  }
  j->kind = JOB_MANY;
  j->data = data;
  j->n = n;
  j->ends = ends;
  j->out.hashes = h;
  j->out.count = count;
  return queue(env, j, argv[0], argv[1]);
}

/*
 * readSmall(params, path: Buffer, region: Uint8Array, flags, noatime) → Promise of
 * { n, ends, hashes, st: BigInt64Array [dev, ino, mode, nlink, uid, gid, size, mtimeNs, ctimeNs] }
 * or { code, errno, syscall, stage: 'open' | 'read', message }.
 * A small file in one trip to the thread pool: opened (flags | noatime, retried
 * without noatime on EPERM), read from offset 0 into `region` until it is full
 * or the file ends, fstat'ed, closed; then cut and hashed whole unless it filled
 * the region (n === region.length: it grew; no cuts). The region's bytes must not
 * be touched until the promise settles.
 */
static napi_value read_small(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5] = {NULL, NULL, NULL, NULL, NULL};
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "readSmall(params, path, region, flags, noatime) needs 5 arguments");
    return NULL;
  }
  params_t *p = get_tagged(env, argv[0], &PARAMS_TAG, "params");
  if (!p) return NULL;
  const uint8_t *path, *region;
  size_t path_len, cap;
  uint32_t flags, noatime;
  if (!get_bytes(env, argv[1], "path", &path, &path_len) || !get_bytes(env, argv[2], "region", &region, &cap)
      || !check_block_size(env, cap) || !get_u32(env, argv[3], "flags", &flags) || !get_u32(env, argv[4], "noatime", &noatime)) return NULL;
  if (path_len == 0 || memchr(path, 0, path_len)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "readSmall: path must be non-empty and hold no NUL byte");
    return NULL;
  }
  if (cap == 0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "readSmall: the region must hold at least one byte");
    return NULL;
  }
  job_t *j = calloc(1, sizeof *j);
  stream_t *s = j ? calloc(1, sizeof *s) : NULL;
  file_job_t *f = s ? calloc(1, sizeof *f) : NULL;
  char *pc = f ? malloc(path_len + 1) : NULL;
  if (!pc || !cuts_init(&j->out, cap, p->min)) {
    if (j) cuts_free(&j->out);
    free(pc); free(f); free(s); free(j);
    napi_throw_error(env, "ERR_STRATA_NATIVE", "out of memory");
    return NULL;
  }
  memcpy(pc, path, path_len);
  pc[path_len] = 0;
  f->path = pc;
  f->flags = (int)flags;
  f->noatime = (int)noatime;
  f->region = (uint8_t *)region;
  f->cap = cap;
  s->p = *p;
  j->kind = JOB_FILE;
  j->s = s;
  j->file = f;
  j->data = region;
  j->n = cap;
  return queue(env, j, argv[2], NULL);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"createParams", NULL, create_params, NULL, NULL, NULL, napi_enumerable, NULL},
    {"streamOpen", NULL, stream_open, NULL, NULL, NULL, napi_enumerable, NULL},
    {"streamPush", NULL, stream_push, NULL, NULL, NULL, napi_enumerable, NULL},
    {"streamFinish", NULL, stream_finish, NULL, NULL, NULL, napi_enumerable, NULL},
    {"chunkHash", NULL, chunk_hash, NULL, NULL, NULL, napi_enumerable, NULL},
    {"sha256Many", NULL, sha256_many, NULL, NULL, NULL, napi_enumerable, NULL},
    {"readSmall", NULL, read_small, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
