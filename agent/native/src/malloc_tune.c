/*
 * mallocTune / mallocTrim: the C library's allocator settings for a daemon
 * that moves gigabytes through short-lived Buffers.
 *
 * Why: glibc serves an allocation of 128 KiB and more (the threshold then
 * adapts, but resets as sizes vary) with a fresh mmap, and gives it back with
 * munmap when freed. Node's Buffers for chunk batches, received frames and
 * decompressed replies are that size, so every one of them was new memory: the
 * kernel zeroes and maps each 4 KiB page on first touch. On a paravirtualized
 * VM a page fault costs several microseconds, and that dominated: on the 2 GiB
 * bench the server's restore spent more CPU in page faults than in its own
 * work. With a fixed mmap threshold of 32 MiB the same memory is recycled
 * inside malloc's arenas instead (docs/memory.md has the measurements).
 *
 * mallocTrim hands free arena memory back to the kernel (malloc_trim(0)), for
 * the agent's memory guard: recycled memory stays resident otherwise.
 */
#include "napi_util.h"
#include <stdbool.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

/* mallocTune(mmapThreshold, trimThreshold) → true when the C library took both settings (glibc), else false. */
napi_value sn_malloc_tune(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!sn_args(env, info, 2, 2, argv, "mallocTune(mmapThreshold, trimThreshold) needs 2 arguments")) return NULL;
  uint32_t mmap_threshold = 0, trim_threshold = 0;
  if (!sn_get_u32(env, argv[0], "mmapThreshold", &mmap_threshold)) return NULL;
  if (!sn_get_u32(env, argv[1], "trimThreshold", &trim_threshold)) return NULL;
  bool ok = false;
#ifdef __GLIBC__
  /* Setting either also turns off glibc's own adjusting of both (no_dyn_threshold). */
  ok = mallopt(M_MMAP_THRESHOLD, (int)mmap_threshold) == 1 && mallopt(M_TRIM_THRESHOLD, (int)trim_threshold) == 1;
#endif
  napi_value r;
  CHECK(env, napi_get_boolean(env, ok, &r));
  return r;
}

/* mallocTrim() → true when memory was handed back to the kernel. */
napi_value sn_malloc_trim(napi_env env, napi_callback_info info) {
  bool released = false;
#ifdef __GLIBC__
  released = malloc_trim(0) == 1;
#endif
  napi_value r;
  CHECK(env, napi_get_boolean(env, released, &r));
  return r;
}

/* mallocInfo() → { mmapChunks, mmapBytes, arenaBytes, freeBytes } from mallinfo2(), or null (not glibc). */
napi_value sn_malloc_info(napi_env env, napi_callback_info info) {
  napi_value r;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  struct mallinfo2 mi = mallinfo2();
  CHECK(env, napi_create_object(env, &r));
  const char *names[4] = {"mmapChunks", "mmapBytes", "arenaBytes", "freeBytes"};
  double values[4] = {(double)mi.hblks, (double)mi.hblkhd, (double)mi.arena, (double)mi.fordblks};
  for (int k = 0; k < 4; k++) {
    napi_value v;
    CHECK(env, napi_create_double(env, values[k], &v));
    CHECK(env, napi_set_named_property(env, r, names[k], v));
  }
#else
  CHECK(env, napi_get_null(env, &r));
#endif
  return r;
}
