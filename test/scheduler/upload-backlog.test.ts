/**
 * The upload job after a vault outage: every online slot missed since the
 * last successful upload is owed the newest disk point taken at or before
 * it; those go oldest first, then the newest, each recorded as it completes.
 * A real vault service on a local vault whose folder disappears (the outage)
 * and comes back; a real catalog and chunk store; the scheduler's clock.
 */
import { createHash } from 'node:crypto';
import { renameSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Compression } from '../../server/src/chunk-store/index.js';
import type { OnlinePolicySpec } from '../../server/src/retention/index.js';
import { planBacklog } from '../../server/src/scheduler/backlog.js';
import { HOUR, schedulerHarness, type Harness } from './harness.js';

const DAY = 24 * HOUR;
const PASS = 'correct horse battery staple 42';
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const hash = (n: number) => createHash('sha256').update(`backlog chunk ${n}`).digest();
let next = 0;

/** A backup taken now: 3 new chunks plus chunk 0 (shared by all), ref list in the store, recorded on disk. */
async function backup(h: Harness, m: { sourceId: string; agentId: string }) {
  const ns = [0, ++next, ++next, ++next];
  for (const n of ns) {
    const data = Buffer.from(`backlog chunk ${n}`);
    await h.store.put({ hash: hash(n), compression: Compression.None, rawSize: data.length, data });
  }
  await h.store.flush();
  const id = crypto.randomUUID();
  await h.store.refs.write(id, ns.map(hash));
  return h.catalog.createRecoveryPoint({
    id, dataSourceId: m.sourceId, agentId: m.agentId, jobId: crypto.randomUUID(), root: [hash(0).toString('hex')], files: 4, dirs: 1, bytes: 100, bytesAdded: 60,
    createdAt: h.clock.now(),
  });
}

async function uploadJob(h: Harness, m: { sourceId: string; agentId: string }) {
  const queued = await h.catalog.createJob({ type: 'upload', agentId: m.agentId, dataSourceId: m.sourceId, params: { scheduled: true } });
  const job = await h.protection.startUpload({ jobId: queued.id, kind: 'upload', dataSourceId: m.sourceId, agentId: m.agentId, agentName: 'a', needsAgent: false, label: 'x' });
  return h.jobs.whenEnded(job.id);
}

type Result = { pointId: string; points: Array<{ pointId: string; slot: string | null; chunksSent: number }>; skipped: Array<{ pointId: string; reason: string }> };

async function setUp(retention: OnlinePolicySpec['retention']) {
  h = await schedulerHarness('2026-05-01T21:00:00Z');
  const dir = `${h.dir}/offsite`;
  await h.vaults.createVault({ name: 'offsite', target: { kind: 'local', path: dir }, passphrase: PASS, softDeleteDays: 0 });
  const spec: OnlinePolicySpec = { schedule: { frequency: 'daily', times: ['22:00'] }, retention, timeZone: 'UTC' };
  const policy = await h.catalog.createOnlinePolicy({ name: 'nightly', spec });
  const m = await h.member({ name: 'g', syncFrequencyMinutes: 60, onlinePolicyId: policy.id });
  return { h, dir, m };
}

/** Day 0 uploads at 22:00; days 1-3 the vault is gone (backups at 10:00 and 21:00, uploads fail); day 4 08:00 a backup, 09:00 the vault is back. */
async function outage(h: Harness, dir: string, m: { sourceId: string; agentId: string }, o: { day0Upload?: boolean } = {}) {
  const p0 = await backup(h, m);
  h.clock.advance(HOUR); // 22:00
  if (o.day0Upload !== false) expect((await uploadJob(h, m)).job).toMatchObject({ state: 'succeeded', pointId: p0.id });
  renameSync(dir, `${dir}.away`);
  const slotPoints = [];
  for (let d = 1; d <= 3; d++) {
    h.clock.advance(12 * HOUR); // 10:00
    await backup(h, m);
    h.clock.advance(11 * HOUR); // 21:00
    slotPoints.push(await backup(h, m));
    h.clock.advance(HOUR); // 22:00: the slot, and the vault is unreachable
    const end = await uploadJob(h, m);
    expect(end.job).toMatchObject({ state: 'failed' });
    expect(end.transient).toBe(true);
  }
  h.clock.advance(10 * HOUR); // day 4, 08:00
  const newest = await backup(h, m);
  h.clock.advance(HOUR);
  renameSync(`${dir}.away`, dir);
  return { p0, slotPoints, newest };
}

describe('upload backlog', () => {
  it('a 3-day outage of a daily policy: once the vault is back, one job sends the 3 missed slots\' points oldest first, then the newest, each recorded', async () => {
    const { h, dir, m } = await setUp({ daily: { count: 30 } });
    const { p0, slotPoints, newest } = await outage(h, dir, m);
    const end = await uploadJob(h, m);
    expect(end.job).toMatchObject({ state: 'succeeded', pointId: newest.id });
    const r = end.job!.result as unknown as Result;
    // The slots of days 1, 2, 3 (22:00) each get the 21:00 point; the 10:00 points no slot needs stay on disk.
    expect(r.points.map((p) => p.pointId)).toEqual([...slotPoints.map((p) => p.id), newest.id]);
    expect(r.points.map((p) => p.slot)).toEqual(['2026-05-02T22:00:00.000Z', '2026-05-03T22:00:00.000Z', '2026-05-04T22:00:00.000Z', null]);
    expect(r.points.every((p) => p.chunksSent === 3)).toBe(true); // chunk 0 is in the vault since day 0
    expect(r.skipped).toEqual([]);
    // Progress covered the whole backlog.
    expect(Number(end.job!.bytesTotal)).toBe(400);
    // Every one recorded online (location both); the vault lists day 0's point and the four.
    for (const p of [...slotPoints, newest]) expect(await h.catalog.getRecoveryPoint(p.id)).toMatchObject({ location: 'both' });
    expect((await h.vaults.listPoints('offsite')).map((p) => p.pointId).sort()).toEqual([p0.id, ...slotPoints.map((p) => p.id), newest.id].sort());
    // Every chunk of every point sent reads back from the vault.
    const reader = await h.vaults.reader('offsite');
    for (const p of [...slotPoints, newest]) {
      const refs = await h.store.refs.open(p.id);
      for await (const c of refs.iterate()) expect((await reader.readChunk(Buffer.from(c))).toString()).toMatch(/^backlog chunk \d+$/);
      refs.close();
    }

    // The next run owes nothing but the newest (already online).
    const again = await uploadJob(h, m);
    expect((again.job!.result as unknown as Result).points).toEqual([expect.objectContaining({ pointId: newest.id, alreadyInVault: true })]);
  });

  it('a manual upload (strata vault upload: one chosen point) does not cancel the scheduled backlog', async () => {
    const { h, dir, m } = await setUp({ daily: { count: 30 } });
    const { slotPoints, newest } = await outage(h, dir, m);
    // The admin backs up the newest point by hand first, as `strata vault upload` does (params.manual).
    const manual = await h.jobs.startServerJob('upload', { pointId: newest.id, vault: 'offsite', manual: true }, async () => {
      await h.vaults.uploadPoint(newest.id, { vault: 'offsite' });
      return { pointId: newest.id };
    }, { dataSourceId: m.sourceId, agentId: m.agentId });
    expect((await h.jobs.whenEnded(manual.id)).job).toMatchObject({ state: 'succeeded' });
    h.clock.advance(HOUR);
    const end = await uploadJob(h, m);
    const r = end.job!.result as unknown as Result;
    expect(r.points.map((p) => p.pointId)).toEqual([...slotPoints.map((p) => p.id), newest.id]);
  });

  it('a job cut off by the vault going away again keeps what it sent recorded; the retry sends only the rest', async () => {
    const { h, dir, m } = await setUp({ daily: { count: 30 } });
    const { slotPoints, newest } = await outage(h, dir, m);
    // The vault disappears again right before the third point of the backlog.
    const upload = h.vaults.uploadPoint.bind(h.vaults);
    let calls = 0;
    h.vaults.uploadPoint = async (id, o) => {
      if (++calls === 3) renameSync(dir, `${dir}.away`);
      return upload(id, o);
    };
    const cut = await uploadJob(h, m);
    expect(cut.job).toMatchObject({ state: 'failed' });
    expect(cut.transient).toBe(true);
    expect(await h.catalog.getVaultPoint(slotPoints[0]!.id)).not.toBeNull();
    expect(await h.catalog.getVaultPoint(slotPoints[1]!.id)).not.toBeNull();
    expect(await h.catalog.getVaultPoint(slotPoints[2]!.id)).toBeNull();
    expect(await h.catalog.getVaultPoint(newest.id)).toBeNull();

    renameSync(`${dir}.away`, dir);
    const end = await uploadJob(h, m);
    expect(end.job).toMatchObject({ state: 'succeeded' });
    expect((end.job!.result as unknown as Result).points.map((p) => p.pointId)).toEqual([slotPoints[2]!.id, newest.id]);
  });

  it('a source whose first uploads all failed: once back, the slots from its first attempt on are owed, not the ones before', async () => {
    const { h, dir, m } = await setUp({ daily: { count: 30 } });
    const { p0, slotPoints, newest } = await outage(h, dir, m, { day0Upload: false });
    const end = await uploadJob(h, m);
    expect(end.job).toMatchObject({ state: 'succeeded' });
    // Day 0's point had no slot that an upload was due at (the first attempt was day 1's): it stays on disk.
    expect((end.job!.result as unknown as Result).points.map((p) => p.pointId)).toEqual([...slotPoints.map((p) => p.id), newest.id]);
    expect(await h.catalog.getVaultPoint(p0.id)).toBeNull();
  });

  it('a missed slot\'s point the online retention would not hold is not sent (daily 2: day 1\'s point is already too old)', async () => {
    const { h, dir, m } = await setUp({ daily: { count: 2 } });
    const { slotPoints, newest } = await outage(h, dir, m);
    const end = await uploadJob(h, m);
    const r = end.job!.result as unknown as Result;
    expect(r.points.map((p) => p.pointId)).toEqual([slotPoints[1]!.id, slotPoints[2]!.id, newest.id]);
    expect(r.skipped).toEqual([expect.objectContaining({ pointId: slotPoints[0]!.id, reason: expect.stringContaining('daily:older-than-2-days') })]);
    expect(await h.catalog.getVaultPoint(slotPoints[0]!.id)).toBeNull();
  });
});

describe('planBacklog', () => {
  it('without an online policy only the newest disk point goes; vault-only and future points never', () => {
    const at = (iso: string, location: 'disk' | 'both' | 'vault' = 'disk') => ({ id: iso, createdAt: new Date(iso), location }) as never;
    const points = [at('2026-05-01T10:00:00Z'), at('2026-05-02T10:00:00Z'), at('2026-05-03T10:00:00Z', 'vault'), at('2026-05-09T10:00:00Z')];
    const now = new Date('2026-05-04T00:00:00Z');
    expect(planBacklog({ points, online: new Map(), spec: null, since: null, now }).send.map((s) => s.point.id)).toEqual(['2026-05-02T10:00:00Z']);
    const spec: OnlinePolicySpec = { schedule: { frequency: 'daily', times: ['22:00'] }, retention: { daily: { count: 30 } }, timeZone: 'UTC' };
    // Slots 05-01 22:00 .. 05-03 22:00: the 05-01 point stands for the first slot, the 05-02 one (the newest) for the others.
    const r = planBacklog({ points, online: new Map(), spec, since: new Date('2026-04-30T23:00:00Z'), now });
    expect(r.send.map((s) => [s.point.id, s.slot?.toISOString() ?? null])).toEqual([['2026-05-01T10:00:00Z', '2026-05-01T22:00:00.000Z'], ['2026-05-02T10:00:00Z', null]]);
    // Never an upload attempt: nothing is owed but the newest.
    expect(planBacklog({ points, online: new Map(), spec, since: null, now }).send.map((s) => s.point.id)).toEqual(['2026-05-02T10:00:00Z']);
    // Already online: not sent again.
    const online = new Map([['2026-05-01T10:00:00Z', { live: true, createdAt: new Date('2026-05-01T10:00:00Z') }]]);
    expect(planBacklog({ points, online, spec, since: new Date('2026-04-30T23:00:00Z'), now }).send.map((s) => s.point.id)).toEqual(['2026-05-02T10:00:00Z']);
  });
});
