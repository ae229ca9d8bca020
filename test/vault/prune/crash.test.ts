/**
 * A prune interrupted at every step: the N-th backend operation of a prune
 * fails (before it reaches the target, or after a PUT/DELETE landed — a lost
 * answer), for every N. Right after the "crash" every remaining point reads
 * back whole through the server's known chunks as reopened from disk; a
 * rerun (after the dead prune's lease has expired) finishes the job and the
 * vault verifies clean.
 */
import { describe, expect, it } from 'vitest';
import { FaultyBackend } from '../../../server/src/vault/backends/faulty.js';
import { LEASE_TTL_DEFAULT_MS, pruneVault } from '../../../server/src/vault/index.js';
import { tempDir } from '../format/helpers.js';
import { copyOf, expectClean, expectReadable, type Fixture, knownIn, packIds, threePoints } from './helpers.js';

async function crashAt(f: Fixture, n: number, when: 'before' | 'after'): Promise<boolean> {
  const why = `operation ${n} (${when})`;
  const c = await copyOf(f, (b) => new FaultyBackend(b));
  const fb = c.backend as FaultyBackend;
  fb.inject({ skip: n, times: 1, kind: 'io', when, ...(when === 'after' ? { ops: ['put', 'delete'] } : {}) });
  const k1 = await knownIn(c.vault, c.stateDir);
  const failed = await pruneVault({ vault: c.vault, known: k1, deletePointIds: ['p1'], lease: { timer: false } })
    .then(() => false, (err: unknown) => {
      expect(String(err), why).toMatch(/injected/);
      return true;
    });
  await k1.close();
  fb.heal();
  // "restart": the known chunks as the crash left them on disk; every remaining point is whole
  const k2 = await knownIn(c.vault, c.stateDir);
  await expectReadable(c.vault, k2, [f.raws.p2, f.raws.p3], why);
  // the rerun, once the dead prune's lease has expired
  await c.clock.sleep(LEASE_TTL_DEFAULT_MS + 1000);
  await pruneVault({ vault: c.vault, known: k2, deletePointIds: ['p1'], lease: { timer: false } });
  await expectReadable(c.vault, k2, [f.raws.p2, f.raws.p3], why);
  await expectClean(c.vault, k2, ['p2', 'p3'], why);
  const ids = await packIds(c.vault);
  expect(ids, why).toHaveLength(5);
  expect(ids, why).not.toContain(f.packs.PA2);
  expect(ids, why).not.toContain(f.packs.PA3);
  // and a brand-new server's view agrees
  const k3 = await knownIn(c.vault, tempDir());
  await k3.rebuild(c.vault);
  await expectReadable(c.vault, k3, [f.raws.p2, f.raws.p3], why);
  return failed;
}

describe('prune interrupted after each step', () => {
  it('leaves every remaining point readable, and a rerun finishes the job', async () => {
    const f = await threePoints();
    // how many backend operations a clean prune makes
    const dry = await copyOf(f, (b) => new FaultyBackend(b));
    const kd = await knownIn(dry.vault, dry.stateDir);
    const start = (dry.backend as FaultyBackend).calls.length; // openVault's read of the config is not the prune's
    await pruneVault({ vault: dry.vault, known: kd, deletePointIds: ['p1'], lease: { timer: false } });
    const ops = (dry.backend as FaultyBackend).calls.slice(start);
    const total = ops.length;
    expect(total).toBeGreaterThan(25);
    expect(ops.filter((o) => o.op === 'put').length).toBeGreaterThanOrEqual(3); // lease, new pack, its index
    const writes = ops.filter((o) => o.op === 'put' || o.op === 'delete').length;

    let failures = 0;
    const passed: string[] = [];
    for (let n = 0; n < total; n++) if (await crashAt(f, n, 'before')) failures++; else passed.push(`${ops[n].op} ${ops[n].key}`);
    // a failure while releasing the lease is swallowed (the lease expires by itself): every other one stops the prune
    expect(passed).toEqual(['head locks/exclusive', 'get locks/exclusive', 'delete locks/exclusive']);
    expect(failures).toBe(total - 3);
    for (let n = 0; n < writes; n++) await crashAt(f, n, 'after');
  });
});
