/**
 * A ceiling for the daemon's resident memory. Chunk data lives in Buffers
 * whose memory sits outside the V8 heap; a buffer that lived long enough to be
 * promoted (a received frame whose chunks wait in the restore window, a read
 * block's bookkeeping) is only freed by a full garbage collection, and V8
 * starts one for external memory only after tens of MiB of it accumulated.
 * So the agent's peak RSS was mostly dead buffers. This guard samples RSS and,
 * above `softLimit`, asks V8 for a full collection — at most every `minGapMs`,
 * backing off while collections free little (the memory is then really in use),
 * unless ArrayBuffer memory grew by `bufferGrowth` since the last one
 * (GuardPolicy). The daemon also collects once after every job (collectNow).
 */
import { readFileSync } from 'node:fs';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { tuneHeapGrowing } from '@strata/native/heap.js';
import { trimAllocator } from './allocator.js';

type Gc = () => void;

/** V8's gc() without --expose-gc on the command line (the flag is set before the function is fetched). */
export function getGc(): Gc | null {
  const g = (globalThis as { gc?: Gc }).gc;
  if (g) return g;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as Gc;
  } catch {
    return null;
  }
}

/**
 * How far V8 lets the old generation grow past what the last full collection
 * kept, in percent (V8's --heap-growing-percent; 100 = to 2×). Left to itself
 * V8 picked ~1.3 for the agent's small heap (~11-15 MB live) in a restore: a
 * full collection every ~80 ms, ~110 per GiB restored. At 2× it is 80-95:
 * V8 keeps marking without pause while the headroom (limit minus size) is
 * under ~32 MB (stop 11), and 2× of ~11 MB leaves ~11 MB. More headroom costs
 * RSS the 150 MiB target does not have: 3× put the 2 GiB restore's peak at
 * 152-156 MiB (2× keeps 141-145), --initial-old-space-size=64 at 143 MiB with
 * most collections forced by the guard, and no incremental marking was
 * slower and peaked at 146-151 MiB (the frequent collections also free
 * promoted receive buffers early). docs/benchmarks.md, stops 10 and 11.
 * STRATA_AGENT_HEAP_GROWING sets another percentage; 0 keeps V8's own schedule.
 */
export const HEAP_GROWING_PERCENT = 100;

/** Applies the heap policy (once, at daemon start); returns what is in force, for the start-up log line. */
export function tuneHeap(): string {
  return tuneHeapGrowing('STRATA_AGENT_HEAP_GROWING', HEAP_GROWING_PERCENT);
}

export interface MemoryGuardOptions {
  /** RSS above which a collection is requested (bytes). */
  softLimit: number;
  /** How often RSS is sampled. */
  sampleMs: number;
  /** Shortest and longest time between two requested collections. */
  minGapMs: number;
  maxGapMs: number;
  /**
   * Growth of ArrayBuffer memory since the last collection (bytes) that
   * triggers one above the soft limit even while backing off: the data
   * windows bound the live buffers, so such growth is mostly dead buffers.
   */
  bufferGrowth: number;
}

const MiB = 1024 * 1024;
export const DEFAULT_MEMORY_GUARD: MemoryGuardOptions = { softLimit: 132 * MiB, sampleMs: 50, minGapMs: 200, maxGapMs: 1000, bufferGrowth: 16 * MiB };

/** Collections the guard requested so far, and the milliseconds they took (logged after each job). */
export const guardStats = { collections: 0, ms: 0 };

/**
 * When to collect (pure, so it is tested without a heap): above the soft
 * limit, at most every minGapMs; every `gap` (doubling up to maxGapMs while
 * collections free little: the memory is then in use) — or sooner when the
 * ArrayBuffer memory grew by bufferGrowth since the last collection. Backing
 * off alone let a restore's dead receive buffers pile up for a whole second
 * (30-60 MiB at restore speed: the 2 GiB bench's restore peaks of 160-183 MiB).
 */
export class GuardPolicy {
  private last = Number.NEGATIVE_INFINITY;
  private gap: number;
  /** ArrayBuffer bytes after the last collection (or the lowest seen since). */
  private base = Number.POSITIVE_INFINITY;

  constructor(private readonly o: MemoryGuardOptions) {
    this.gap = o.minGapMs;
  }

  /** At a sample: collect now? `buffers` is asked for only above the soft limit. */
  due(now: number, rss: number, buffers: () => number): boolean {
    if (rss < this.o.softLimit || now - this.last < this.o.minGapMs) return false;
    const ab = buffers();
    if (ab < this.base) this.base = ab;
    return now - this.last >= this.gap || ab - this.base >= this.o.bufferGrowth;
  }

  /** After a collection that freed `freed` bytes of RSS, leaving `buffers` bytes of ArrayBuffers. */
  collected(now: number, freed: number, buffers: number): void {
    this.last = now;
    this.base = buffers;
    this.gap = freed < 2 * MiB ? Math.min(this.o.maxGapMs, this.gap * 2) : this.o.minGapMs;
  }
}

let cachedGc: Gc | null | undefined;

/**
 * One full collection now, when a job has ended: what the job allocated once
 * (read blocks and compression slots, 24 MiB; a finished worker's buffers) is
 * then freed before the next job allocates its own. Without it, a backup that
 * started right after another held both sets (a 15 MiB spike at the start of
 * the 2 GiB bench's unchanged re-run). Counted in guardStats.
 */
export function collectNow(): void {
  const gc = cachedGc === undefined ? (cachedGc = getGc()) : cachedGc;
  if (!gc) return;
  const t0 = performance.now();
  gc();
  guardStats.collections++;
  guardStats.ms += performance.now() - t0;
}

/** Starts the guard; returns a function that stops it. A runtime without gc() gets no guard. */
export function startMemoryGuard(o: MemoryGuardOptions = DEFAULT_MEMORY_GUARD): () => void {
  const gc = cachedGc === undefined ? (cachedGc = getGc()) : cachedGc;
  if (!gc) return () => {};
  const policy = new GuardPolicy(o);
  const buffers = () => process.memoryUsage().arrayBuffers;
  const t = setInterval(() => {
    const before = process.memoryUsage.rss();
    if (!policy.due(Date.now(), before, buffers)) return;
    collectNow();
    // What the collection freed went back to malloc, which keeps it (the allocator policy): return it if still high.
    if (process.memoryUsage.rss() >= o.softLimit) trimAllocator();
    policy.collected(Date.now(), before - process.memoryUsage.rss(), buffers());
  }, o.sampleMs);
  t.unref();
  return () => clearInterval(t);
}

/**
 * What the daemon's memory was made of at a job's RSS peak, for finding what
 * grows with the dataset (STRATA_AGENT_MEMORY_LOG=1 turns it on; the job's log
 * line then carries it). RSS is sampled every `sampleMs`; at each new peak the
 * V8 view (heap spaces, external memory, array buffers) and the kernel's view
 * (anonymous, file, shared) are taken, so the log says what the peak was.
 */
export interface MemorySnapshot {
  rssMiB: number;
  /** From /proc/self/status: anonymous (heap, malloc, V8), file-backed (code, mapped files), shared (SharedArrayBuffers). */
  anonMiB: number;
  fileMiB: number;
  shmemMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  arrayBuffersMiB: number;
  /** V8 heap spaces: committed size (used), MiB. */
  spaces: Record<string, string>;
}

const mib = (n: number) => Math.round((n / MiB) * 10) / 10;

export function memorySnapshot(): MemorySnapshot {
  const u = process.memoryUsage();
  const kib: Record<string, number> = {};
  try {
    for (const line of readFileSync('/proc/self/status', 'latin1').split('\n')) {
      const m = /^(RssAnon|RssFile|RssShmem):\s+(\d+)/.exec(line);
      if (m) kib[m[1]!] = Number(m[2]);
    }
  } catch {
    // not Linux: the V8 figures still say most of it
  }
  const spaces: Record<string, string> = {};
  for (const s of getHeapSpaceStatistics()) spaces[s.space_name] = `${mib(s.physical_space_size)} (${mib(s.space_used_size)})`;
  return {
    rssMiB: mib(u.rss), anonMiB: mib((kib.RssAnon ?? 0) * 1024), fileMiB: mib((kib.RssFile ?? 0) * 1024), shmemMiB: mib((kib.RssShmem ?? 0) * 1024),
    heapUsedMiB: mib(u.heapUsed), heapTotalMiB: mib(u.heapTotal), externalMiB: mib(u.external), arrayBuffersMiB: mib(u.arrayBuffers), spaces,
  };
}

/** Peak RSS since the last reset() and the snapshot taken at it. */
export class PeakWatch {
  peak = 0;
  atPeak: MemorySnapshot | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(sampleMs = 50) {
    this.timer = setInterval(() => {
      const rss = process.memoryUsage.rss();
      // A new peak by at least 1 MiB: a snapshot walks the heap spaces, not worth it per sample.
      if (rss < this.peak + MiB) return;
      this.peak = rss;
      this.atPeak = memorySnapshot();
    }, sampleMs);
    this.timer.unref();
  }

  /** The report for a job's log line, and a new peak from now on. */
  take(): { peakMiB: number; atPeak: MemorySnapshot | null; atEnd: MemorySnapshot } {
    const r = { peakMiB: mib(this.peak), atPeak: this.atPeak, atEnd: memorySnapshot() };
    this.peak = 0;
    this.atPeak = null;
    return r;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
