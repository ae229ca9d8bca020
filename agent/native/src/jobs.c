/* Async jobs on libuv's thread pool: run, settle the promise, free (jobs.h). */
#define _GNU_SOURCE 1 /* uv.h needs pthread_rwlock_t under -std=c11 */
#include "jobs.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* { n, ends, hashes, st: BigInt64Array } or { code, errno, syscall, stage, message } */
static napi_value sn_make_file_result(napi_env env, job_t *j) {
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
  obj = sn_make_cuts(env, &j->out);
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

/* { st: BigInt64Array (ST_COUNT per path), errno: Int32Array (libuv's negative errno per path, 0 if none) } */
static napi_value sn_make_lstat_result(napi_env env, job_t *j) {
  size_t count = j->out.count;
  napi_value obj, ab, st, errs;
  void *p = NULL;
  CHECK(env, napi_create_object(env, &obj));
  CHECK(env, napi_create_arraybuffer(env, count * ST_COUNT * sizeof(int64_t), &p, &ab));
  if (count) memcpy(p, j->st, count * ST_COUNT * sizeof(int64_t));
  CHECK(env, napi_create_typedarray(env, napi_bigint64_array, count * ST_COUNT, ab, 0, &st));
  CHECK(env, napi_create_arraybuffer(env, count * sizeof(int32_t), &p, &ab));
  for (size_t k = 0; k < count; k++) ((int32_t *)p)[k] = j->errs[k] ? uv_translate_sys_error(j->errs[k]) : 0;
  CHECK(env, napi_create_typedarray(env, napi_int32_array, count, ab, 0, &errs));
  CHECK(env, napi_set_named_property(env, obj, "st", st));
  CHECK(env, napi_set_named_property(env, obj, "errno", errs));
  return obj;
}

void sn_job_execute(napi_env env, void *data) {
  (void)env;
  job_t *j = data;
  if (j->kind == JOB_LSTAT) {
    sn_lstat_many(j);
    return;
  }
  if (j->kind == JOB_FILE) {
    sn_read_file(j);
    return;
  }
  if (j->kind == JOB_MANY) {
    sn_sha_many(j->data, j->ends, j->out.count, j->out.hashes);
    return;
  }
  sn_cut(j->s, j->data, j->n, &j->out);
  if (j->kind == JOB_WHOLE && sn_finish(j->s, j->out.hashes + 32 * j->out.count)) j->out.ends[j->out.count++] = (uint32_t)j->n;
}

static void sn_job_complete(napi_env env, napi_status status, void *data) {
  job_t *j = data;
  napi_value result = NULL;
  if (status == napi_ok) {
    if (j->kind == JOB_MANY) napi_create_buffer_copy(env, j->out.count * 32, j->out.count ? (const void *)j->out.hashes : "", NULL, &result);
    else if (j->kind == JOB_FILE) result = sn_make_file_result(env, j);
    else if (j->kind == JOB_LSTAT) result = sn_make_lstat_result(env, j);
    else result = sn_make_cuts(env, &j->out);
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
  free(j->st);
  free(j->errs);
  napi_delete_reference(env, j->keep_buf);
  if (j->keep_extra) napi_delete_reference(env, j->keep_extra);
  napi_delete_async_work(env, j->work);
  sn_cuts_free(&j->out);
  free(j);
}

napi_value sn_queue(napi_env env, job_t *j, napi_value buf, napi_value extra) {
  napi_value promise, name;
  if (napi_create_reference(env, buf, 1, &j->keep_buf) != napi_ok) goto fail;
  if (extra && napi_create_reference(env, extra, 1, &j->keep_extra) != napi_ok) goto fail;
  if (napi_create_promise(env, &j->deferred, &promise) != napi_ok) goto fail;
  napi_create_string_utf8(env, "strata.chunkHash", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, sn_job_execute, sn_job_complete, j, &j->work) != napi_ok) goto fail;
  if (napi_queue_async_work(env, j->work) != napi_ok) goto fail;
  if (j->kind == JOB_PUSH) j->s->busy = 1;
  return promise;
fail:
  /* (A created promise is left pending and collected; the caller gets the exception.) */
  sn_throw_last(env);
  if (j->keep_buf) napi_delete_reference(env, j->keep_buf);
  if (j->keep_extra) napi_delete_reference(env, j->keep_extra);
  if (j->kind == JOB_WHOLE || j->kind == JOB_FILE) free(j->s);
  if (j->file) free(j->file->path);
  free(j->file);
  free(j->st);
  free(j->errs);
  sn_cuts_free(&j->out);
  free(j);
  return NULL;
}
