/**
 * The agent's V8 heap policy (tuneHeap in agent/src/util/memory.ts), set from
 * inside the running process with v8.setFlagsFromString: after a full
 * collection V8 must set the old generation's next limit at 2x what survived,
 * not at the factor its own heuristics picked. Checked in child processes (the
 * flag is process-wide) from V8's own trace of each new limit
 * (--trace-gc-verbose); STRATA_AGENT_HEAP_GROWING=0 leaves V8's own factor.
 */
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import { expectTwofoldLimits } from '../helpers/heap-limits.js';

const MEMORY = fileURLToPath(new URL('../../agent/src/util/memory.ts', import.meta.url));

describe('agent heap policy', () => {
  it("sets the old generation's limit at 2x what survived, whatever V8's own factor", () => {
    expectTwofoldLimits(MEMORY, 'tuneHeap', 'STRATA_AGENT_HEAP_GROWING');
  }, 60_000);
});
