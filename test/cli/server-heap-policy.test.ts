/**
 * The server's V8 heap policy (tuneServerHeap in server/src/util/heap.ts,
 * applied by `strata server` at start): the old generation's next limit is
 * 2x what survived, so its headroom stays above the ~32 MB under which V8
 * marks without pause; STRATA_SERVER_HEAP_GROWING=0 leaves V8's own factor.
 */
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import { expectTwofoldLimits } from '../helpers/heap-limits.js';

const HEAP = fileURLToPath(new URL('../../server/src/util/heap.ts', import.meta.url));

describe('server heap policy', () => {
  it("sets the old generation's limit at 2x what survived; 0 keeps V8's own factor", () => {
    expectTwofoldLimits(HEAP, 'tuneServerHeap', 'STRATA_SERVER_HEAP_GROWING');
  }, 60_000);
});
