/**
 * The daemon's C allocator settings, applied once at start: Buffers up to
 * 32 MiB are recycled inside malloc instead of being mapped fresh and unmapped
 * each time (page faults were the largest cost of a restore on a VM; the
 * policy and its measurements are in agent/native/src/malloc_tune.c and
 * docs/benchmarks.md). A missing addon leaves the defaults: slower, not wrong.
 */
import { createRequire } from 'node:module';
import type * as Native from '@strata/native';

let addon: typeof Native | null | undefined;
function load(): typeof Native {
  // require(), not import: the bundle keeps the addon external, and a failed load must not stop the daemon.
  return (addon ??= createRequire(import.meta.url)('@strata/native') as typeof Native);
}

/** Applies the policy; returns what is in force, for the start-up log line. */
export function tuneAllocator(): string {
  try {
    return load().tuneDaemonAllocator();
  } catch (e) {
    addon = null;
    return `C library defaults (addon not loaded: ${(e as Error).message.split('\n')[0]})`;
  }
}

/**
 * Hands malloc's free memory back to the kernel (the memory guard, above its
 * soft limit, after a collection): recycled memory otherwise stays resident,
 * and the agent's RSS has a ceiling. False when nothing was released or the
 * addon is missing.
 */
export function trimAllocator(): boolean {
  if (addon === null) return false;
  try {
    return load().mallocTrim();
  } catch {
    addon = null;
    return false;
  }
}
