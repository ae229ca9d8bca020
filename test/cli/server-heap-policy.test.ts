/**
 * The server's V8 heap policy (tuneServerHeap in server/src/util/heap.ts,
 * applied by `strata server` at start): the old generation's next limit is
 * 2x what survived, so its headroom stays above the ~32 MB under which V8
 * marks without pause; STRATA_SERVER_HEAP_GROWING=0 leaves V8's own factor.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { heapLimits } from '../helpers/heap-limits.js';

const HEAP = fileURLToPath(new URL('../../server/src/util/heap.ts', import.meta.url));

describe('server heap policy', () => {
  it("sets the old generation's limit at 2x what survived; 0 keeps V8's own factor", () => {
    const on = heapLimits(HEAP, 'tuneServerHeap', {});
    expect(on.policy).toMatch(/2x its live size/);
    expect(on.set.length).toBeGreaterThan(2);
    expect(new Set(on.set)).toEqual(new Set(['2.0']));

    const off = heapLimits(HEAP, 'tuneServerHeap', { STRATA_SERVER_HEAP_GROWING: '0' });
    expect(off.policy).toMatch(/V8's own/);
    expect(off.set).toEqual(off.own.slice(0, off.set.length));
    expect(new Set(off.set)).not.toEqual(new Set(['2.0']));
  }, 60_000);
});
