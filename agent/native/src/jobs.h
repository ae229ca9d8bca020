/* Async jobs of the addon on libuv's thread pool (napi_create_async_work). */
#ifndef STRATA_JOBS_H
#define STRATA_JOBS_H
#include "napi_util.h"

enum { JOB_PUSH, JOB_WHOLE, JOB_MANY, JOB_FILE, JOB_LSTAT };

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
  int64_t *st;          /* JOB_LSTAT: ST_COUNT fields per path */
  int32_t *errs;        /* JOB_LSTAT: errno per path, 0 if none */
  cuts_t out;
} job_t;

/* A job's work (on the pool thread, or inline for a small synchronous call). */
void sn_job_execute(napi_env env, void *data);
/* JOB_FILE's work: open, read, fstat, close, cut and hash (small_file.c). */
void sn_read_file(job_t *j);
/* JOB_LSTAT's work: lstat of each NUL-terminated path in data[0, n) (small_file.c). */
void sn_lstat_many(job_t *j);
/* Queues `j` (taking references to `buf` and `extra` until it is done); the promise, or NULL with an exception (j freed). */
napi_value sn_queue(napi_env env, job_t *j, napi_value buf, napi_value extra);

#endif
