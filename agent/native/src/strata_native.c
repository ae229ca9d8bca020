/*
 * @strata/native: chunker v1's cut rule (agent/src/chunker/chunker.ts,
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
#include "jobs.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Files: cdc.c (cut rule + SHA-256), napi_util.c (arguments, handles, results),
 * jobs.c (thread-pool jobs), small_file.c (readSmall's work), malloc_tune.c (allocator
 * settings for both daemons); the exported calls here. */
napi_value sn_malloc_tune(napi_env env, napi_callback_info info);
napi_value sn_malloc_trim(napi_env env, napi_callback_info info);
napi_value sn_malloc_info(napi_env env, napi_callback_info info);

/* createParams(gear: Int32Array(256), min, normal, max, maskS, maskL) → handle */
static napi_value create_params(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!sn_args(env, info, 6, 6, argv, "createParams(gear, min, normal, max, maskS, maskL) needs 6 arguments")) return NULL;
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
    if (!sn_get_u32(env, argv[1 + k], names[k], &v[k])) return NULL;
  }
  if (v[0] < 64 || v[0] > v[1] || v[1] > v[2] || v[2] > (1u << 30)) {
    char msg[200];
    snprintf(msg, sizeof msg, "invalid chunker sizes: min %u, normal %u, max %u", v[0], v[1], v[2]);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    return NULL;
  }
  params_t *p = calloc(1, sizeof *p);
  if (!p) {
    return sn_oom(env);
  }
  memcpy(p->gear, g, sizeof p->gear);
  p->min = v[0];
  p->normal = v[1];
  p->max = v[2];
  p->mask_s = v[3];
  p->mask_l = v[4];
  napi_value out;
  if (napi_create_external(env, p, sn_free_ptr, NULL, &out) != napi_ok) {
    free(p);
    sn_throw_last(env);
    return NULL;
  }
  CHECK(env, napi_type_tag_object(env, out, &SN_PARAMS_TAG));
  return out;
}

/* streamOpen(params) → stream handle */
static napi_value stream_open(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!sn_args(env, info, 1, 1, argv, "streamOpen(params) needs a params handle")) return NULL;
  params_t *p = sn_get_tagged(env, argv[0], &SN_PARAMS_TAG, "params");
  if (!p) return NULL;
  stream_t *s = calloc(1, sizeof *s);
  if (!s) {
    return sn_oom(env);
  }
  s->p = *p;
  napi_value out;
  if (napi_create_external(env, s, sn_free_ptr, NULL, &out) != napi_ok) {
    free(s);
    sn_throw_last(env);
    return NULL;
  }
  CHECK(env, napi_type_tag_object(env, out, &SN_STREAM_TAG));
  return out;
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
  napi_value argv[2];
  if (!sn_args(env, info, 2, 2, argv, "streamPush(stream, block) needs 2 arguments")) return NULL;
  stream_t *s = sn_get_tagged(env, argv[0], &SN_STREAM_TAG, "stream");
  if (!s) return NULL;
  const uint8_t *data;
  size_t n;
  if (!sn_get_bytes(env, argv[1], "block", &data, &n) || !check_block_size(env, n)) return NULL;
  if (s->busy) {
    napi_throw_error(env, "ERR_STRATA_NATIVE_BUSY", "streamPush: the previous push on this stream has not settled");
    return NULL;
  }
  job_t *j = calloc(1, sizeof *j);
  if (!j || !sn_cuts_init(&j->out, n, s->p.min)) {
    if (j) sn_cuts_free(&j->out);
    free(j);
    return sn_oom(env);
  }
  j->kind = JOB_PUSH;
  j->s = s;
  j->data = data;
  j->n = n;
  return sn_queue(env, j, argv[1], argv[0]);
}

/* streamFinish(stream) → Buffer (digest of the last chunk) | null; the stream can then start again. */
static napi_value stream_finish(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!sn_args(env, info, 1, 1, argv, "streamFinish(stream) needs a stream handle")) return NULL;
  stream_t *s = sn_get_tagged(env, argv[0], &SN_STREAM_TAG, "stream");
  if (!s) return NULL;
  if (s->busy) {
    napi_throw_error(env, "ERR_STRATA_NATIVE_BUSY", "streamFinish: a push on this stream has not settled");
    return NULL;
  }
  uint8_t d[32];
  napi_value out;
  if (!sn_finish(s, d)) {
    CHECK(env, napi_get_null(env, &out));
    return out;
  }
  CHECK(env, napi_create_buffer_copy(env, 32, d, NULL, &out));
  return out;
}

/* chunkHash(params, buf, async) → { ends, hashes } of a whole buffer (last chunk included), or a Promise of it. */
static napi_value chunk_hash(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!sn_args(env, info, 2, 3, argv, "chunkHash(params, buffer) needs 2 arguments")) return NULL;
  params_t *p = sn_get_tagged(env, argv[0], &SN_PARAMS_TAG, "params");
  if (!p) return NULL;
  const uint8_t *data;
  size_t n;
  if (!sn_get_bytes(env, argv[1], "buffer", &data, &n) || !check_block_size(env, n)) return NULL;
  bool async = false;
  napi_get_value_bool(env, argv[2], &async); /* not a boolean (or not passed): stays false */
  stream_t *s = calloc(1, sizeof *s);
  job_t *j = s ? calloc(1, sizeof *j) : NULL;
  if (!j || !sn_cuts_init(&j->out, n, p->min)) {
    if (j) sn_cuts_free(&j->out);
    free(j);
    free(s);
    return sn_oom(env);
  }
  s->p = *p;
  j->kind = JOB_WHOLE;
  j->s = s;
  j->data = data;
  j->n = n;
  if (async) return sn_queue(env, j, argv[1], NULL);
  sn_job_execute(env, j);
  napi_value out = sn_make_cuts(env, &j->out);
  sn_cuts_free(&j->out);
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
      if (!sn_get_bytes(env, el, what, &d, &n)) return NULL;
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
  if (!sn_get_bytes(env, argv[0], "buffer", &data, &n)) return NULL;
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
    sn_sha_many(data, ends, count, out_data);
    return out;
  }
  job_t *j = calloc(1, sizeof *j);
  uint8_t *h = j ? malloc(count * 32 + 1) : NULL;
  if (!h) {
    free(j);
    return sn_oom(env);
  }
  j->kind = JOB_MANY;
  j->data = data;
  j->n = n;
  j->ends = ends;
  j->out.hashes = h;
  j->out.count = count;
  return sn_queue(env, j, argv[0], argv[1]);
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
  napi_value argv[5];
  if (!sn_args(env, info, 5, 5, argv, "readSmall(params, path, region, flags, noatime) needs 5 arguments")) return NULL;
  params_t *p = sn_get_tagged(env, argv[0], &SN_PARAMS_TAG, "params");
  if (!p) return NULL;
  const uint8_t *path, *region;
  size_t path_len, cap;
  uint32_t flags, noatime;
  if (!sn_get_bytes(env, argv[1], "path", &path, &path_len) || !sn_get_bytes(env, argv[2], "region", &region, &cap)
      || !check_block_size(env, cap) || !sn_get_u32(env, argv[3], "flags", &flags) || !sn_get_u32(env, argv[4], "noatime", &noatime)) return NULL;
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
  if (!pc || !sn_cuts_init(&j->out, cap, p->min)) {
    if (j) sn_cuts_free(&j->out);
    free(pc); free(f); free(s); free(j);
    return sn_oom(env);
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
  return sn_queue(env, j, argv[2], NULL);
}

/* lstatMany(paths: Uint8Array of NUL-terminated paths, joined) → Promise<{ st, errno }>: one pool trip for all. */
static napi_value lstat_many(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!sn_args(env, info, 1, 1, argv, "lstatMany(paths) needs 1 argument")) return NULL;
  const uint8_t *buf;
  size_t len;
  if (!sn_get_bytes(env, argv[0], "paths", &buf, &len)) return NULL;
  size_t count = 0;
  for (size_t i = 0; i < len; i++) {
    if (buf[i]) continue;
    if (i == 0 || buf[i - 1] == 0) count = SIZE_MAX; /* an empty path */
    if (count == SIZE_MAX) break;
    count++;
  }
  if (len == 0 || buf[len - 1] != 0 || count == SIZE_MAX || count > 65536) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "lstatMany: paths must be 1 to 65536 non-empty paths, each ended by a NUL byte");
    return NULL;
  }
  job_t *j = calloc(1, sizeof *j);
  if (j) {
    j->st = malloc(count * ST_COUNT * sizeof(int64_t));
    j->errs = malloc(count * sizeof(int32_t));
  }
  if (!j || !j->st || !j->errs) {
    if (j) { free(j->st); free(j->errs); }
    free(j);
    return sn_oom(env);
  }
  j->kind = JOB_LSTAT;
  j->data = buf;
  j->n = len;
  j->out.count = count;
  return sn_queue(env, j, argv[0], NULL);
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
    {"lstatMany", NULL, lstat_many, NULL, NULL, NULL, napi_enumerable, NULL},
    {"mallocTune", NULL, sn_malloc_tune, NULL, NULL, NULL, napi_enumerable, NULL},
    {"mallocTrim", NULL, sn_malloc_trim, NULL, NULL, NULL, napi_enumerable, NULL},
    {"mallocInfo", NULL, sn_malloc_info, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
