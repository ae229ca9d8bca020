/* readSmall's work on the pool thread: a whole small file in one trip (see strata_native.c). */
#define _GNU_SOURCE 1 /* pread, O_CLOEXEC and st_mtim under -std=c11 */
#include "jobs.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static int64_t ns_of(struct timespec t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

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
  sn_cut(j->s, f->region, n, &j->out);
  if (sn_finish(j->s, j->out.hashes + 32 * j->out.count)) j->out.ends[j->out.count++] = (uint32_t)n;
}
