'use strict';
// Loads the compiled addon (node-gyp puts it in build/Release during `npm ci`).
// The chunker's wrapper (queueing, parameters from params.ts) is
// agent/src/chunker/native.ts; this file finds the binary and holds the one
// allocator policy both daemons apply at start (src/malloc_tune.c says why).
const addon = require('./build/Release/strata_native.node');

const MiB = 1024 * 1024;
/** glibc's own ceiling for its adaptive threshold on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX): Buffers up to 32 MiB are recycled in malloc's arenas. */
const MMAP_THRESHOLD = 32 * MiB;
/** Free memory at the top of an arena beyond this goes back to the kernel by itself. */
const TRIM_THRESHOLD = 64 * MiB;

/**
 * Applies the daemons' allocator settings unless STRATA_MALLOC_TUNE=0; returns
 * what is in force, for the start-up log line.
 */
function tuneDaemonAllocator(env = process.env) {
  if (env.STRATA_MALLOC_TUNE === '0') return 'C library defaults (STRATA_MALLOC_TUNE=0)';
  return addon.mallocTune(MMAP_THRESHOLD, TRIM_THRESHOLD)
    ? `mmap threshold ${MMAP_THRESHOLD / MiB} MiB, trim threshold ${TRIM_THRESHOLD / MiB} MiB`
    : 'C library defaults (not glibc)';
}

module.exports = { ...addon, tuneDaemonAllocator, MMAP_THRESHOLD, TRIM_THRESHOLD };
