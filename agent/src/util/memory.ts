/**
 * A ceiling for the daemon's resident memory. Chunk data lives in Buffers
 * whose memory sits outside the V8 heap; a buffer that lived long enough to be
 * promoted (a received frame whose chunks wait in the restore window, a read
 * block's bookkeeping) is only freed by a full garbage collection, and V8
 * starts one for external memory only after tens of MiB of it accumulated.
 * So the agent's peak RSS was mostly dead buffers. This guard samples RSS and,
 * above `softLimit`, asks V8 for a full collection — at most every `minGapMs`,
 * backing off while collections free little (the memory is then really in use).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = () => void;

/** V8's gc() without --expose-gc on the command line (the flag is set before the function is fetched). */
function getGc(): Gc | null {
  const g = (globalThis as { gc?: Gc }).gc;
  if (g) return g;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as Gc;
  } catch {
    return null;
  }
}

export interface MemoryGuardOptions {
  /** RSS above which a collection is requested (bytes). */
  softLimit: number;
  /** How often RSS is sampled. */
  sampleMs: number;
  /** Shortest and longest time between two requested collections. */
  minGapMs: number;
  maxGapMs: number;
}

const MiB = 1024 * 1024;
export const DEFAULT_MEMORY_GUARD: MemoryGuardOptions = { softLimit: 132 * MiB, sampleMs: 50, minGapMs: 200, maxGapMs: 1000 };

/** Collections the guard requested so far, and the milliseconds they took (logged after each job). */
export const guardStats = { collections: 0, ms: 0 };

/** Starts the guard; returns a function that stops it. A runtime without gc() gets no guard. */
export function startMemoryGuard(o: MemoryGuardOptions = DEFAULT_MEMORY_GUARD): () => void {
  const gc = getGc();
  if (!gc) return () => {};
  let gap = o.minGapMs;
  let last = 0;
  const t = setInterval(() => {
    const now = Date.now();
    if (now - last < gap) return;
    const before = process.memoryUsage.rss();
    if (before < o.softLimit) return;
    const t0 = performance.now();
    gc();
    guardStats.collections++;
    guardStats.ms += performance.now() - t0;
    last = Date.now();
    const freed = before - process.memoryUsage.rss();
    // Little freed: the memory is in use; do not keep paying for collections that cannot help.
    gap = freed < 2 * MiB ? Math.min(o.maxGapMs, gap * 2) : o.minGapMs;
  }, o.sampleMs);
  t.unref();
  return () => clearInterval(t);
}
