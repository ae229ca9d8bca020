/**
 * The daily GC job with a vault: soft-deleted online copies past their
 * purge time leave the vault and the catalog, then the vault is pruned once;
 * the GC job's result carries both (`vaultPurge`, `vaultPrune`), and the
 * vault's packs that only the purged point held are gone.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Compression } from '../../server/src/chunk-store/index.js';
import { HOUR, schedulerHarness, type Harness } from './harness.js';

const PASS = 'correct horse battery staple 42';
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function point(h: Harness, m: { sourceId: string; agentId: string }, from: number) {
  const id = crypto.randomUUID();
  const hashes = [];
  for (let n = from; n < from + 6; n++) {
    const data = Buffer.from(`gc chunk ${n} `.repeat(300));
    const hash = createHash('sha256').update(data).digest();
    await h.store.put({ hash, compression: Compression.None, rawSize: data.length, data });
    hashes.push(hash);
  }
  await h.store.flush();
  await h.store.refs.write(id, hashes);
  return h.catalog.createRecoveryPoint({
    id, dataSourceId: m.sourceId, agentId: m.agentId, jobId: crypto.randomUUID(), root: [hashes[0]!.toString('hex')], files: 6, dirs: 1, bytes: 100, bytesAdded: 100,
    createdAt: h.clock.now(),
  });
}

describe('daily GC with a vault', () => {
  it('purges expired online copies, then prunes the vault; both in the GC job result', async () => {
    h = await schedulerHarness('2026-05-01T12:00:00Z', { scheduler: { gcTime: '03:00' } });
    const dir = `${h.dir}/offsite`;
    await h.vaults.createVault({ name: 'offsite', target: { kind: 'local', path: dir }, passphrase: PASS, softDeleteDays: 1 });
    const m = await h.member({ name: 'g', syncFrequencyMinutes: 60 });
    const gone = await point(h, m, 0);
    const kept = await point(h, m, 100);
    for (const p of [gone, kept]) await h.vaults.uploadPoint(p.id);
    await h.vaults.deletePoint(gone.id);
    const packs = () => readdirSync(`${dir}/objects/packs`, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
    const before = packs();
    await h.scheduler.start();
    await h.step(15 * HOUR); // 03:00 the next day: not yet a day since the delete
    const [first] = await h.catalog.listJobs({ type: 'gc', limit: 1 });
    expect(((await h.jobs.whenEnded(first!.id)).job!.result as { vaultPurge: { purged: string[] } }).vaultPurge.purged).toEqual([]);
    await h.step(24 * HOUR); // 03:00 the day after: purge time is past
    const [job] = await h.catalog.listJobs({ type: 'gc', limit: 1 });
    const end = (await h.jobs.whenEnded(job!.id)).job!;
    expect(end.errorMessage).toBeNull();
    expect(end.state).toBe('succeeded');
    const r = end.result as { vaultPurge: { purged: string[] }; vaultPrune: { postponed: number; packsDeleted: number; packsRewritten: number; bytesFreed: number; failed: unknown[] } };
    expect(r.vaultPurge.purged).toEqual([gone.id]);
    expect(r.vaultPrune).toMatchObject({ postponed: 0, failed: [] });
    expect(r.vaultPrune.packsDeleted + r.vaultPrune.packsRewritten).toBeGreaterThan(0);
    expect(r.vaultPrune.bytesFreed).toBeGreaterThan(0);
    expect(packs()).toBeLessThan(before);
    expect((await h.vaults.listPoints('offsite')).map((p) => p.pointId)).toEqual([kept.id]);
  });
});
