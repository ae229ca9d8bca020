/**
 * The daemon's C allocator settings, applied once at start: Buffers up to
 * 32 MiB are recycled inside malloc instead of being mapped fresh and unmapped
 * each time (page faults were the largest cost of a restore on a VM; the
 * policy and its measurements are in agent/native/src/malloc_tune.c and
 * docs/benchmarks.md). A missing addon leaves the defaults: slower, not wrong.
 */
import { createRequire } from 'node:module';
import type * as Native from '@strata/native';

/** Applies the policy; returns what is in force, for the start-up log line. */
export function tuneAllocator(): string {
  try {
    // require(), not import: the bundle keeps the addon external, and a failed load must not stop the daemon.
    return (createRequire(import.meta.url)('@strata/native') as typeof Native).tuneDaemonAllocator();
  } catch (e) {
    return `C library defaults (addon not loaded: ${(e as Error).message.split('\n')[0]})`;
  }
}
