/**
 * The server's V8 heap policy, applied once at start: after a full collection
 * the old generation may grow to 2x what survived (--heap-growing-percent=100).
 *
 * Why: V8 (11.3, in Node 20) keeps marking without pause while the old
 * generation's headroom (limit minus size) is below roughly 32 MB, whatever
 * the young generation's size (measured: a loop of promoted garbage marked
 * continuously at 18 and 27 MB of headroom, hardly at 35 and more). The
 * server's heap holds 34-48 MB live. Left to itself V8 sometimes settles on
 * its smallest factor, 1.1, for it: it judges from the main thread only, and
 * the server allocates little on the heap while it streams chunks. The
 * headroom is then ~5 MB, and a stop-11 bench restore ran a full collection
 * every ~500 ms that freed ~4.5 MB of a 47.5 MB heap: ~70 collections and
 * ~3 s of helper-thread CPU per GiB restored, on a 2-core machine, against
 * 2 collections when V8 happened to pick ~2 (docs/benchmarks.md, stop 11).
 * At 2x the headroom equals the live size, above the threshold. The cost is
 * heap memory: up to twice the live size between collections.
 * STRATA_SERVER_HEAP_GROWING sets another percentage; 0 keeps V8's own schedule.
 */
import { tuneHeapGrowing } from '@strata/native/heap.js';

export const SERVER_HEAP_GROWING_PERCENT = 100;

/** Applies the policy; returns what is in force, for the start-up log line. */
export function tuneServerHeap(): string {
  return tuneHeapGrowing('STRATA_SERVER_HEAP_GROWING', SERVER_HEAP_GROWING_PERCENT);
}
