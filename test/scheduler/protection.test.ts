/**
 * The protection service over a real catalog and chunk store: retention of
 * both tiers recorded as a prune job with reasons (the newest point always
 * kept), a policy change applied at once and retroactively, a stopped group
 * left alone, and the interim online backup (an 'upload' job that records a
 * vault point with its own copy of the ref list).
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Job } from '../../server/src/catalog/index.js';
import { HOUR, schedulerHarness, type Harness } from './harness.js';

const DAY = 24 * HOUR;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const hash = (n: number) => createHash('sha256').update(`chunk ${n}`).digest();

/** A recovery point `ageMs` before now, with a ref list of `chunks` hashes. */
async function point(h: Harness, m: { sourceId: string; agentId: string }, ageMs: number, opts: { location?: 'disk' | 'vault'; vaultId?: string; chunks?: number } = {}) {
  const id = crypto.randomUUID();
  await h.store.refs.write(id, Array.from({ length: opts.chunks ?? 2 }, (_, i) => hash(i)));
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

  it('a lowered online retention prunes vault points at once (policyChanged), disk points untouched', async () => {
    h = await schedulerHarness('2026-05-01T12:00:00Z');
    const vault = await h.catalog.createVault({ name: 'offsite', config: { path: '/tmp/offsite' } });
    const spec = (count: number) => ({ schedule: { frequency: 'daily', times: ['22:00'] }, retention: { daily: { count } }, timeZone: 'UTC' });
    const policy = await h.catalog.createOnlinePolicy({ name: 'nightly', spec: spec(30) });
    const m = await h.member({ name: 'g', syncFrequencyMinutes: 1440, retentionDays: 30, onlinePolicyId: policy.id });
    const disk = await point(h, m, 10 * DAY);
    const online = [];
    for (let d = 0; d < 10; d++) online.push(await point(h, m, d * DAY + 14 * HOUR, { location: 'vault', vaultId: vault.id }));
    let replans = 0;
    h.protection.onReplan(async () => void replans++);
    await h.protection.policyChanged(policy.id);
    expect(await ids(h, m.sourceId)).toHaveLength(11);
    await h.catalog.updateOnlinePolicy(policy.id, { spec: spec(3) });
    await h.protection.policyChanged(policy.id);
    expect(replans).toBe(2);
    // Daily 3: the points of the last 3 days stay; the disk point is the short-term policy's.
    expect(await ids(h, m.sourceId)).toEqual([disk.id, ...online.slice(0, 3).map((p) => p.id)].sort());
    const [prune] = await h.catalog.listJobs({ type: 'prune' });
    const pruned = (prune!.result as { pruned: Array<{ tier: string; reasons: string[] }> }).pruned;
    expect(pruned).toHaveLength(7);
    expect(pruned.every((p) => p.tier === 'vault' && p.reasons.includes('daily:older-than-3-days'))).toBe(true);
  });

  it('the upload job records an online point for the newest disk point, with its own ref list', async () => {
    h = await schedulerHarness('2026-05-01T22:00:00Z');
    const vault = await h.catalog.createVault({ name: 'offsite', config: { path: '/tmp/offsite' } });
    const m = await h.member({ name: 'g', syncFrequencyMinutes: 60 });
    await point(h, m, 2 * HOUR, { chunks: 3 });
    const newest = await point(h, m, 1 * HOUR, { chunks: 5 });
    const queued = await h.catalog.createJob({ type: 'upload', agentId: m.agentId, dataSourceId: m.sourceId, params: { scheduled: true } });
    const job = await h.protection.startUpload({ jobId: queued.id, kind: 'upload', dataSourceId: m.sourceId, agentId: m.agentId, agentName: 'a', needsAgent: false, label: 'x' });
    expect(job.id).toBe(queued.id);
    const end = (await h.jobs.whenEnded(job.id)).job!;
    expect(end).toMatchObject({ type: 'upload', state: 'succeeded', result: { fromPointId: newest.id, vaultId: vault.id } });
    const online = await h.catalog.getRecoveryPoint(end.pointId!);
    expect(online).toMatchObject({ location: 'vault', vaultId: vault.id, root: newest.root, files: newest.files, bytes: newest.bytes, jobId: job.id, createdAt: h.clock.now() });
    const refs = await h.store.refs.open(online!.id);
    expect(refs.count).toBe(5);
    refs.close();
    // The online point outlives its disk point: pruning the disk point leaves the copy.
    await h.store.refs.delete(newest.id);
    await h.catalog.deleteRecoveryPoint(newest.id);
    expect(await h.store.refs.exists(online!.id)).toBe(true);
  });

  it('an upload with no vault, or nothing on disk, fails with a clear reason', async () => {
    h = await schedulerHarness('2026-05-01T22:00:00Z');
    const m = await h.member({ name: 'g', syncFrequencyMinutes: 60 });
    const task = { jobId: '', kind: 'upload' as const, dataSourceId: m.sourceId, agentId: m.agentId, agentName: 'a', needsAgent: false, label: 'x' };
    await expect(h.protection.startUpload(task)).rejects.toThrow(/no vault is configured/);
    await h.catalog.createVault({ name: 'offsite', config: { path: '/tmp/offsite' } });
    const queued = await h.catalog.createJob({ type: 'upload', agentId: m.agentId, dataSourceId: m.sourceId });
    const job = await h.protection.startUpload({ ...task, jobId: queued.id });
    expect((await h.jobs.whenEnded(job.id)).job).toMatchObject({ state: 'failed', errorMessage: "data source 'docs-1' has no recovery point on disk to send to the vault yet" });
  });
});
