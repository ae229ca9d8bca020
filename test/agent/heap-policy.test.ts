/**
 * The agent's V8 heap policy (tuneHeap in agent/src/util/memory.ts), set from
 * inside the running process with v8.setFlagsFromString: after a full
 * collection V8 must set the old generation's next limit at 2x what survived,
 * not at the factor its own heuristics picked (in a restore those pick ~1.3,
 * because concurrent marking looks cheap to the main thread: a full
 * collection every ~80 ms). Checked in child processes (the flag is
 * process-wide) from V8's own trace of each new limit (--trace-gc-verbose).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MEMORY = fileURLToPath(new URL('../../agent/src/util/memory.ts', import.meta.url));

/** The policy line, and for each full collection: V8's own factor and the factor of the limit it set. */
function limits(env: NodeJS.ProcessEnv): { policy: string; own: string[]; set: string[] } {
  const script = `
    const { tuneHeap } = require(${JSON.stringify(MEMORY)});
    const policy = tuneHeap();
    // A window of objects that outlive several young collections, then die: promoted garbage, as in a restore.
    const W = 50000, win = new Array(W);
    for (let i = 0; i < 1500000; i++) win[i % W] = { i, key: 'k' + i, parts: [i, i + 1], view: new Uint8Array(16) };
    console.log('POLICY ' + policy);
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--max-semi-space-size=2', '--trace-gc-verbose', '-e', script], { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  return {
    policy: /^POLICY (.*)$/m.exec(out)?.[1] ?? '',
    own: [...out.matchAll(/\[HeapController\] factor (\d+\.\d) based on/g)].map((m) => m[1]!),
    set: [...out.matchAll(/\[HeapController\] Limit: old size: \d+ KB, new limit: \d+ KB \((\d+\.\d)\)/g)].map((m) => m[1]!),
  };
}

describe('agent heap policy', () => {
  it("sets the old generation's limit at 2x what survived, whatever V8's own factor", () => {
    const on = limits({});
    expect(on.policy).toMatch(/2x its live size/);
    expect(on.set.length).toBeGreaterThan(2);
    expect(new Set(on.set)).toEqual(new Set(['2.0']));

    const off = limits({ STRATA_AGENT_HEAP_GROWING: '0' });
    expect(off.policy).toMatch(/V8's own/);
    expect(off.set.length).toBeGreaterThan(2);
    // Without the policy each limit follows V8's own factor (for this CPU-bound loop usually its maximum, 4.0).
    expect(off.set).toEqual(off.own.slice(0, off.set.length));
  }, 60_000);
});
