/* readSmall's work on the pool thread: a whole small file in one trip (see strata_native.c). */
#define _GNU_SOURCE 1 /* pread, O_CLOEXEC and st_mtim under -std=c11 */
#include "jobs.h"
#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static int64_t ns_of(struct timespec t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

/* The ST_COUNT fields the backup uses, in jobs.h's order. */
static void fields_of(const struct stat *st, int64_t *out) {
  out[ST_DEV] = (int64_t)st->st_dev;
  out[ST_INO] = (int64_t)st->st_ino;
  out[ST_MODE] = (int64_t)st->st_mode;
  out[ST_NLINK] = (int64_t)st->st_nlink;
  out[ST_UID] = (int64_t)st->st_uid;
  out[ST_GID] = (int64_t)st->st_gid;
  out[ST_SIZE] = (int64_t)st->st_size;
  out[ST_MTIME_NS] = ns_of(st->st_mtim);
  out[ST_CTIME_NS] = ns_of(st->st_ctim);
}

/* Open, read (one byte more than expected: a full region means the file grew), fstat, close;
 * what backup/file.ts openForRead + fh.read + fh.stat + close do, without four pool round trips. */
void sn_read_file(job_t *j) {
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
  fields_of(&st, f->st);
  if (n == f->cap) return; /* grew: the caller reads it the long way */
  sn_cut(j->s, f->region, n, &j->out);
  if (sn_finish(j->s, j->out.hashes + 32 * j->out.count)) j->out.ends[j->out.count++] = (uint32_t)n;
}

/* lstatMany's work: one pool trip for a folder's batch of entries. Each async
 * fs call wakes a pool thread (a futex round trip); on a paravirtualized VM
 * those wake-ups cost more than the lstat itself (docs/benchmarks.md, stop 9). */
void sn_lstat_many(job_t *j) {
  const char *p = (const char *)j->data;
  const char *end = p + j->n;
  for (size_t k = 0; p < end; k++) {
    struct stat st;
    if (lstat(p, &st) == 0) {
      j->errs[k] = 0;
      fields_of(&st, j->st + k * ST_COUNT);
    } else {
      j->errs[k] = errno;
    }
    p += strlen(p) + 1;
  }
}
