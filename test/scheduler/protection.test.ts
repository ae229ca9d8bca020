/**
 * The protection service over a real catalog and chunk store: retention of
 * both tiers recorded as a prune job with reasons (the newest point always
 * kept), a policy change applied at once and retroactively, a stopped group
 * left alone, and the online tier through a real vault service on a local
 * vault: the upload job, online retention (soft delete, newest kept), the
 * short-term expiry of a point also in the vault, an unreachable vault.
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Job } from '../../server/src/catalog/index.js';
import { Compression } from '../../server/src/chunk-store/index.js';
import { garbageCollect, prunePoint } from '../../server/src/services/maintenance.js';
import { HOUR, schedulerHarness, type Harness } from './harness.js';

const DAY = 24 * HOUR;
const PASS = 'correct horse battery staple 42';
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const hash = (n: number) => createHash('sha256').update(`chunk ${n}`).digest();

/** A recovery point `ageMs` before now whose `chunks` chunks ('chunk <from + i>') are in the store, with its ref list. */
async function point(h: Harness, m: { sourceId: string; agentId: string }, ageMs: number, opts: { location?: 'disk' | 'vault'; vaultId?: string; chunks?: number; from?: number } = {}) {
  const id = crypto.randomUUID();
  const ns = Array.from({ length: opts.chunks ?? 2 }, (_, i) => (opts.from ?? 0) + i);
  for (const n of ns) {
    const data = Buffer.from(`chunk ${n}`);
    await h.store.put({ hash: hash(n), compression: Compression.None, rawSize: data.length, data });
  }
  await h.store.flush();
  await h.store.refs.write(id, ns.map(hash));
  return h.catalog.createRecoveryPoint({
    id, dataSourceId: m.sourceId, agentId: m.agentId, jobId: crypto.randomUUID(), root: [hash(0).toString('hex')], files: 1, dirs: 1, bytes: 10, bytesAdded: 10,
    location: opts.location ?? 'disk', vaultId: opts.vaultId ?? null, createdAt: new Date(h.clock.now().getTime() - ageMs),
  });
}

const ids = async (h: Harness, sourceId: string) => (await h.catalog.listRecoveryPoints({ dataSourceId: sourceId })).map((p) => p.id).sort();

describe('protection service', () => {
  it('prunes disk points outside the retention range as one prune job with reasons; catalog entry and ref list go', async () => {
    h = await schedulerHarness('2026-05-01T12:00:00Z');
    const m = await h.member({ name: 'g', syncFrequencyMinutes: 60, retentionDays: 2 });
    const young = await point(h, m, 1 * HOUR);
    const mid = await point(h, m, 47 * HOUR);
    const old = await point(h, m, 49 * HOUR);
    const older = await point(h, m, 5 * DAY);
    const job = (await h.protection.applyRetention(m.sourceId)) as Job;
    expect(job).toMatchObject({ type: 'prune', state: 'succeeded', dataSourceId: m.sourceId, params: { reason: 'retention', groupId: m.groupId } });
    const result = job.result as { pruned: Array<{ pointId: string; reasons: string[] }>; kept: Array<{ pointId: string; reasons: string[] }> };
    expect(result.pruned.map((p) => [p.pointId, p.reasons])).toEqual([[old.id, ['outside-2-days']], [older.id, ['outside-2-days']]]);
    expect(result.kept.map((p) => [p.pointId, p.reasons])).toEqual([[young.id, ['within-2-days']], [mid.id, ['within-2-days']]]);
    expect(await ids(h, m.sourceId)).toEqual([young.id, mid.id].sort());
    expect(await h.store.refs.exists(old.id)).toBe(false);
    expect(await h.store.refs.exists(young.id)).toBe(true);
    // Nothing left to prune: no job at all.
    expect(await h.protection.applyRetention(m.sourceId)).toBeNull();
    expect(await h.catalog.listJobs({ type: 'prune' })).toHaveLength(1);
  });

  it('always keeps the newest point, even outside the range (an agent away longer than the retention keeps its last copy)', async () => {
    h = await schedulerHarness('2026-05-01T12:00:00Z');
    const m = await h.member({ name: 'g', syncFrequencyMinutes: 60, retentionDays: 1 });
    const newest = await point(h, m, 3 * DAY);
    await point(h, m, 4 * DAY);
    const job = (await h.protection.applyRetention(m.sourceId))!;
    expect((job.result as { kept: unknown[] }).kept).toEqual([expect.objectContaining({ pointId: newest.id, keep: true, reasons: ['outside-1-days', 'newest-point-kept'] })]);
    expect(await ids(h, m.sourceId)).toEqual([newest.id]);
  });

  it('keeps everything of a stopped group', async () => {
    h = await schedulerHarness('2026-05-01T12:00:00Z');
    const m = await h.member({ name: 'g', syncFrequencyMinutes: 60, retentionDays: 1, state: 'stopped' });
    await point(h, m, 3 * DAY);
    await point(h, m, 4 * DAY);
    expect(await h.protection.applyRetention(m.sourceId)).toBeNull();
    await h.protection.groupChanged(m.groupId);
    expect(await ids(h, m.sourceId)).toHaveLength(2);
  });

  it('a lowered online retention soft-deletes online copies at once (policyChanged, through the vault service); the newest copy stays; disk points untouched', async () => {
    h = await schedulerHarness('2026-05-01T12:00:00Z');
    await h.vaults.createVault({ name: 'offsite', target: { kind: 'local', path: `${h.dir}/offsite` }, passphrase: PASS, softDeleteDays: 14 });
    const spec = (count: number) => ({ schedule: { frequency: 'daily', times: ['22:00'] }, retention: { daily: { count } }, timeZone: 'UTC' });
    const policy = await h.catalog.createOnlinePolicy({ name: 'nightly', spec: spec(30) });
    const m = await h.member({ name: 'g', syncFrequencyMinutes: 1440, retentionDays: 30, onlinePolicyId: policy.id });
    const online = [];
    for (let d = 0; d < 10; d++) {
      const p = await point(h, m, d * DAY + 14 * HOUR);
      await h.vaults.uploadPoint(p.id);
      online.push(p);
    }
    let replans = 0;
    h.protection.onReplan(async () => void replans++);
    await h.protection.policyChanged(policy.id);
    expect(await h.catalog.listJobs({ type: 'prune' })).toEqual([]);
    await h.catalog.updateOnlinePolicy(policy.id, { spec: spec(3) });
    await h.protection.policyChanged(policy.id);
    expect(replans).toBe(2);
    // Daily 3: the copies of the last 3 days stay live; the others are soft-deleted, their disk copies untouched.
    expect((await h.vaults.listPoints('offsite')).map((p) => p.pointId).sort()).toEqual(online.slice(0, 3).map((p) => p.id).sort());
    expect((await h.vaults.listPoints('offsite', 'deleted')).map((p) => p.pointId).sort()).toEqual(online.slice(3).map((p) => p.id).sort());
    expect(await ids(h, m.sourceId)).toEqual(online.map((p) => p.id).sort());
    const [prune] = await h.catalog.listJobs({ type: 'prune' });
    const pruned = (prune!.result as { pruned: Array<{ tier: string; reasons: string[] }> }).pruned;
    expect(pruned).toHaveLength(7);
    expect(pruned.every((p) => p.tier === 'vault' && p.reasons.includes('daily:older-than-3-days'))).toBe(true);
  });

  it('the newest online copy is kept even outside the online retention', async () => {
    h = await schedulerHarness('2026-05-01T12:00:00Z');
    await h.vaults.createVault({ name: 'offsite', target: { kind: 'local', path: `${h.dir}/offsite` }, passphrase: PASS, softDeleteDays: 0 });
    const policy = await h.catalog.createOnlinePolicy({ name: 'nightly', spec: { schedule: { frequency: 'daily', times: ['22:00'] }, retention: { daily: { count: 7 } }, timeZone: 'UTC' } });
    const m = await h.member({ name: 'g', syncFrequencyMinutes: 1440, retentionDays: 30, onlinePolicyId: policy.id });
    const a = await point(h, m, 20 * DAY);
    const b = await point(h, m, 10 * DAY);
    for (const p of [a, b]) await h.vaults.uploadPoint(p.id);
    const job = (await h.protection.applyRetention(m.sourceId))!;
    const r = job.result as { kept: Array<{ pointId: string; tier: string; reasons: string[] }>; pruned: Array<{ pointId: string; tier: string }> };
    expect(r.pruned).toEqual([expect.objectContaining({ pointId: a.id, tier: 'vault' })]);
    expect(r.kept).toContainEqual(expect.objectContaining({ pointId: b.id, tier: 'vault', reasons: ['outside-retention', 'daily:older-than-7-days', 'newest-point-kept'] }));
    // Soft delete off: purged at once; the point is still on disk.
    expect(await h.catalog.getVaultPoint(a.id)).toBeNull();
    expect(await h.catalog.getRecoveryPoint(a.id)).toMatchObject({ location: 'disk' });
  });

  it('the upload job sends the newest disk point to the vault (location both), with progress in the job', async () => {
    h = await schedulerHarness('2026-05-01T22:00:00Z');
    const { vault } = await h.vaults.createVault({ name: 'offsite', target: { kind: 'local', path: `${h.dir}/offsite` }, passphrase: PASS });
    const m = await h.member({ name: 'g', syncFrequencyMinutes: 60 });
    await point(h, m, 2 * HOUR, { chunks: 3 });
    const newest = await point(h, m, 1 * HOUR, { chunks: 5 });
    const queued = await h.catalog.createJob({ type: 'upload', agentId: m.agentId, dataSourceId: m.sourceId, params: { scheduled: true } });
    const job = await h.protection.startUpload({ jobId: queued.id, kind: 'upload', dataSourceId: m.sourceId, agentId: m.agentId, agentName: 'a', needsAgent: false, label: 'x' });
    expect(job.id).toBe(queued.id);
    const end = (await h.jobs.whenEnded(job.id)).job!;
    expect(end).toMatchObject({ type: 'upload', state: 'succeeded', pointId: newest.id, result: { pointId: newest.id, vaultId: vault.id, vaultName: 'offsite', chunks: 5, chunksSent: 5, alreadyInVault: false } });
    expect(Number(end.bytesSent)).toBeGreaterThan(0);
    expect(await h.catalog.getRecoveryPoint(newest.id)).toMatchObject({ location: 'both', vaultId: vault.id });
    expect((await h.vaults.listPoints('offsite')).map((p) => p.pointId)).toEqual([newest.id]);
  });

  it('short-term expiry of a point also in the vault keeps it as a vault point: empty ref list, GC frees its chunks, the vault still lists it', async () => {
    h = await schedulerHarness('2026-05-01T22:00:00Z');
    await h.vaults.createVault({ name: 'offsite', target: { kind: 'local', path: `${h.dir}/offsite` }, passphrase: PASS });
    const m = await h.member({ name: 'g', syncFrequencyMinutes: 60, retentionDays: 1 });
    const old = await point(h, m, 3 * DAY, { chunks: 4, from: 100 });
    await h.vaults.uploadPoint(old.id);
    const newest = await point(h, m, 1 * HOUR, { chunks: 2 });
    const job = (await h.protection.applyRetention(m.sourceId))!;
    expect((job.result as { pruned: Array<{ pointId: string; tier: string }> }).pruned).toEqual([expect.objectContaining({ pointId: old.id, tier: 'disk' })]);
    expect(await h.catalog.getRecoveryPoint(old.id)).toMatchObject({ location: 'vault' });
    expect(await ids(h, m.sourceId)).toEqual([old.id, newest.id].sort());
    const refs = await h.store.refs.open(old.id);
    expect(refs.count).toBe(0);
    refs.close();
    const gc = await garbageCollect(h.catalog, h.store, async () => {});
    expect(gc).toMatchObject({ chunksRemoved: 4 });
    for (let i = 100; i < 104; i++) expect(await h.store.has(hash(i))).toBe(false);
    expect((await h.vaults.listPoints('offsite')).map((p) => p.pointId)).toEqual([old.id]);
    // Still readable from the vault.
    const reader = await h.vaults.reader('offsite');
    expect((await reader.readChunk(hash(101))).equals(Buffer.from('chunk 101'))).toBe(true);
  });

  it('a manual prune of a point also in the vault drops only its disk copy; a second prune soft-deletes the online copy', async () => {
    h = await schedulerHarness('2026-05-01T22:00:00Z');
    await h.vaults.createVault({ name: 'offsite', target: { kind: 'local', path: `${h.dir}/offsite` }, passphrase: PASS });
    const m = await h.member({ name: 'g', syncFrequencyMinutes: 60 });
    const p = await point(h, m, 1 * HOUR);
    await h.vaults.uploadPoint(p.id);
    const first = await prunePoint(h.catalog, h.store, p.id, { vaults: h.vaults });
    expect(first).toMatchObject({ action: 'disk-copy-dropped' });
    expect(first.message).toMatch(/its online copy stays in the vault/);
    expect(await h.catalog.getRecoveryPoint(p.id)).toMatchObject({ location: 'vault' });
    const second = await prunePoint(h.catalog, h.store, p.id, { vaults: h.vaults });
    expect(second).toMatchObject({ action: 'online-copy-deleted' });
    expect(second.message).toMatch(/soft-deleted/);
    expect((await h.vaults.listPoints('offsite', 'deleted')).map((x) => x.pointId)).toEqual([p.id]);
    // The daily purge (after soft delete's 14 days) removes it, and its empty ref list.
    h.clock.advance(15 * DAY);
    expect(await h.vaults.purgeExpired(h.clock.now())).toMatchObject({ purged: [p.id] });
    expect(await h.catalog.getRecoveryPoint(p.id)).toBeNull();
    expect(await h.store.refs.exists(p.id)).toBe(false);
  });

  it('an upload with no vault, or nothing on disk, fails with a clear reason', async () => {
    h = await schedulerHarness('2026-05-01T22:00:00Z');
    const m = await h.member({ name: 'g', syncFrequencyMinutes: 60 });
    const task = { jobId: '', kind: 'upload' as const, dataSourceId: m.sourceId, agentId: m.agentId, agentName: 'a', needsAgent: false, label: 'x' };
    await expect(h.protection.startUpload(task)).rejects.toThrow('no vault: create one with strata vault create');
    await h.vaults.createVault({ name: 'offsite', target: { kind: 'local', path: `${h.dir}/offsite` }, passphrase: PASS });
    const queued = await h.catalog.createJob({ type: 'upload', agentId: m.agentId, dataSourceId: m.sourceId });
    const job = await h.protection.startUpload({ ...task, jobId: queued.id });
    expect((await h.jobs.whenEnded(job.id)).job).toMatchObject({ state: 'failed', errorMessage: "data source 'docs-1' has no recovery point on disk to send to the vault yet" });
  });

  it('an unreachable vault fails the upload as transient and raises vault-unreachable; backups are not held up', async () => {
    h = await schedulerHarness('2026-05-01T22:00:00Z');
    const dir = `${h.dir}/offsite`;
    await h.vaults.createVault({ name: 'offsite', target: { kind: 'local', path: dir }, passphrase: PASS });
    const m = await h.member({ name: 'g', syncFrequencyMinutes: 60 });
    await point(h, m, 1 * HOUR);
    // The mount is gone.
    rmSync(dir, { recursive: true, force: true });
    const queued = await h.catalog.createJob({ type: 'upload', agentId: m.agentId, dataSourceId: m.sourceId });
    const job = await h.protection.startUpload({ jobId: queued.id, kind: 'upload', dataSourceId: m.sourceId, agentId: m.agentId, agentName: 'a', needsAgent: false, label: 'x' });
    const end = await h.jobs.whenEnded(job.id);
    expect(end.job).toMatchObject({ state: 'failed' });
    expect(end.transient).toBe(true);
    const [alert] = await h.catalog.listAlerts({ state: 'active' });
    expect(alert).toMatchObject({ kind: 'vault-unreachable', subject: "Vault 'offsite' is unreachable" });
    expect(h.jobs.isBusy(m.sourceId)).toBe(false);
  });
});
