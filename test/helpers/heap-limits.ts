/**
 * What a daemon's V8 heap policy does, observed from outside: runs a child
 * process (the flag is process-wide) that applies the policy function and then
 * makes promoted garbage, and reads V8's own trace of each new old-generation
 * limit (--trace-gc-verbose). Used by the agent's and the server's policy tests.
 */
import { execFileSync } from 'node:child_process';
import { expect } from 'vitest';

export interface HeapLimits {
  /** What the policy function returned (the start-up log line's text). */
  policy: string;
  /** For each full collection: V8's own growing factor, and the factor of the limit it set. */
  own: string[];
  set: string[];
}

export function heapLimits(modulePath: string, exportName: string, env: NodeJS.ProcessEnv): HeapLimits {
  const script = `
    const policy = require(${JSON.stringify(modulePath)})[${JSON.stringify(exportName)}]();
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

/**
 * The whole check, for either daemon: with the policy every new limit is 2.0x
 * what survived; with `envName`=0 each follows V8's own factor (for this
 * CPU-bound loop usually its maximum, 4.0), so a policy that ignored the
 * switch would show as a mismatch.
 */
export function expectTwofoldLimits(modulePath: string, exportName: string, envName: string): void {
  const on = heapLimits(modulePath, exportName, {});
  expect(on.policy).toMatch(/2x its live size/);
  expect(on.set.length).toBeGreaterThan(2);
  expect(new Set(on.set)).toEqual(new Set(['2.0']));

  const off = heapLimits(modulePath, exportName, { [envName]: '0' });
  expect(off.policy).toMatch(/V8's own/);
  expect(off.set.length).toBeGreaterThan(2);
  expect(off.set).toEqual(off.own.slice(0, off.set.length));
}
