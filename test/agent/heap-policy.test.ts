/**
 * The agent's V8 heap policy (tuneHeap in agent/src/util/memory.ts), set from
 * inside the running process with v8.setFlagsFromString: after a full
 * collection V8 must set the old generation's next limit at 2x what survived,
 * not at the factor its own heuristics picked (in a restore those pick ~1.3,
 * because concurrent marking looks cheap to the main thread: a full
 * collection every ~80 ms). Checked in child processes (the flag is
 * process-wide) from V8's own trace of each new limit (--trace-gc-verbose).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { heapLimits } from '../helpers/heap-limits.js';

const MEMORY = fileURLToPath(new URL('../../agent/src/util/memory.ts', import.meta.url));

describe('agent heap policy', () => {
  it("sets the old generation's limit at 2x what survived, whatever V8's own factor", () => {
    const on = heapLimits(MEMORY, 'tuneHeap', {});
    expect(on.policy).toMatch(/2x its live size/);
    expect(on.set.length).toBeGreaterThan(2);
    expect(new Set(on.set)).toEqual(new Set(['2.0']));

    const off = heapLimits(MEMORY, 'tuneHeap', { STRATA_AGENT_HEAP_GROWING: '0' });
    expect(off.policy).toMatch(/V8's own/);
    expect(off.set.length).toBeGreaterThan(2);
    // Without the policy each limit follows V8's own factor (for this CPU-bound loop usually its maximum, 4.0).
    expect(off.set).toEqual(off.own.slice(0, off.set.length));
  }, 60_000);
});
