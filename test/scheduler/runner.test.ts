/**
 * The queue over the real JobService and catalog rows (no agent process): an
 * offline agent's scheduled backup fails with the reason, a refusal at the
 * start keeps its queued row, a transient failure is retried as a new row,
 * an admin cancels a queued row; and in real-clock mode node-schedule wakes
 * the scheduler by itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openCatalog, type Catalog } from '../../server/src/catalog/index.js';
import { ChunkStore } from '../../server/src/chunk-store/index.js';
import { StrataError } from '../../server/src/errors.js';
import { JobService } from '../../server/src/jobs/job-service.js';
import { systemClock, TestClock } from '../../server/src/scheduler/clock.js';
import { JobQueue, type QueueTask } from '../../server/src/scheduler/queue.js';
import { CatalogTaskRunner } from '../../server/src/scheduler/runner.js';
import { Scheduler } from '../../server/src/scheduler/scheduler.js';
import { SAMPLE_KEY } from '../catalog/harness.js';

const MIN = 60_000;
const silent = pino({ level: 'silent' });
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup(opts: { busyCheck?: boolean } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'strata-runner-'));
  const clock = new TestClock('2026-04-01T08:00:00Z');
  const catalog = await openCatalog({ dataDir: dir, clock });
  const store = await ChunkStore.open(path.join(dir, 'chunks'));
  const online = new Set<string>();
  // No agent process: "online" agents have no session, so a backup start is refused as offline.
  const gateway = { isOnline: (id: string) => online.has(id), session: () => undefined, onPresence: () => {} };
  const jobs = new JobService(catalog, store, gateway as never, silent, clock);
  let uploadWork: () => Promise<never> = async () => { throw new Error('no upload expected'); };
  const runner = new CatalogTaskRunner({
    catalog, jobs,
    startUpload: (t) => jobs.startServerJob('upload', {}, () => uploadWork(), { queuedJobId: t.jobId, dataSourceId: t.dataSourceId }),
  });
  const queue = new JobQueue(runner, { clock, isAgentOnline: (id) => gateway.isOnline(id), isSourceBusy: (id) => opts.busyCheck !== false && jobs.isBusy(id) }, { offlineWaitMs: 10 * MIN, backoffBaseMs: MIN });
  jobs.setQueuedCanceller((id, reason) => queue.cancelWaiting(id, reason));
  const agent = await catalog.createAgent({ name: 'web01', hostname: 'web01', publicKey: SAMPLE_KEY });
  const source = await catalog.createDataSource({ agentId: agent.id, name: 'docs', paths: ['/docs'] });
  const enqueue = async (kind: 'backup' | 'upload' = 'backup') => {
    const row = await catalog.createJob({ type: kind, agentId: agent.id, dataSourceId: source.id, params: { scheduled: true, attempt: 1 } });
    const task: QueueTask = { jobId: row.id, kind, dataSourceId: source.id, agentId: agent.id, agentName: agent.name, needsAgent: kind === 'backup', label: `the scheduled ${kind} of 'docs'` };
    queue.add(task);
    return row.id;
  };
  cleanup.push(async () => {
    await queue.close();
    await queue.idle();
    await store.close();
    await catalog.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { clock, catalog, jobs, queue, online, agent, source, enqueue, setUploadWork: (f: typeof uploadWork) => (uploadWork = f) };
}

describe('queue over JobService', () => {
  it("an offline agent's scheduled backup waits 10 minutes, then its row fails naming the agent, the time and the work", async () => {
    const t = await setup();
    const id = await t.enqueue();
    await t.queue.pump();
    t.clock.advance(9 * MIN);
    await t.queue.pump();
    expect((await t.catalog.getJob(id))!.state).toBe('queued');
    t.clock.advance(MIN);
    await t.queue.pump();
    expect(await t.catalog.getJob(id)).toMatchObject({
      state: 'failed', errorMessage: "agent 'web01' has been offline for 10m; the scheduled backup of 'docs' did not run",
    });
  });

  it('a backup refused at the start (agent gone meanwhile) keeps its queued row and spends no attempt', async () => {
    const t = await setup();
    t.online.add(t.agent.id);
    const id = await t.enqueue();
    await t.queue.pump();
    await t.queue.idle();
    expect((await t.catalog.getJob(id))!.state).toBe('queued');
    expect(t.queue.list()).toMatchObject([{ jobId: id, attempt: 1, state: 'waiting' }]);
    expect(await t.catalog.listJobs({ type: 'backup' })).toHaveLength(1);
  });

  it('a transient failure is retried as a new row after the backoff; a permanent one is not', async () => {
    const t = await setup();
    t.setUploadWork(async () => { throw new StrataError('STORE_BUSY', 'chunk store busy: garbage collection runs', 'transient'); });
    const first = await t.enqueue('upload');
    await t.queue.pump();
    await t.queue.idle();
    expect(await t.catalog.getJob(first)).toMatchObject({ state: 'failed', errorMessage: 'chunk store busy: garbage collection runs' });
    const [retry] = await t.catalog.listJobs({ type: 'upload', state: 'queued' });
    expect(retry!.params).toMatchObject({ scheduled: true, attempt: 2, retryOf: first, previousError: 'chunk store busy: garbage collection runs' });
    t.setUploadWork(async () => { throw new Error('this one is permanent'); });
    t.clock.advance(MIN);
    await t.queue.pump();
    await t.queue.idle();
    expect(await t.catalog.getJob(retry!.id)).toMatchObject({ state: 'failed', errorMessage: 'this one is permanent' });
    expect(await t.catalog.listJobs({ type: 'upload' })).toHaveLength(2);
    expect(t.queue.list()).toEqual([]);
  });

  it('a manual job that takes the source between the check and the start leaves the queued row waiting', async () => {
    const t = await setup({ busyCheck: false });
    let release!: () => void;
    const manual = await t.jobs.startServerJob('verify', {}, () => new Promise((r) => (release = () => r({}))), { dataSourceId: t.source.id });
    const id = await t.enqueue('upload');
    await t.queue.pump();
    await t.queue.idle();
    expect((await t.catalog.getJob(id))!.state).toBe('queued');
    expect(t.queue.list()).toMatchObject([{ jobId: id, attempt: 1, state: 'waiting' }]);
    release();
    expect((await t.jobs.whenEnded(manual.id)).job!.state).toBe('succeeded');
  });

  it('an admin cancels a queued row through JobService.cancel', async () => {
    const t = await setup();
    const id = await t.enqueue();
    await t.queue.pump();
    const job = await t.jobs.cancel(id);
    expect(job).toMatchObject({ id, state: 'cancelled', errorMessage: 'cancelled by the admin' });
    expect(t.queue.list()).toEqual([]);
    await expect(t.jobs.cancel(id)).rejects.toThrow(/is not running \(state cancelled\)/);
  });
});

describe('real-clock mode', () => {
  it('node-schedule wakes the scheduler at the queue\'s next wake-up, and stop() ends that', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'strata-runner-'));
    const catalog: Catalog = await openCatalog({ dataDir: dir });
    cleanup.push(async () => { await catalog.close(); rmSync(dir, { recursive: true, force: true }); });
    let ticks = 0;
    const counting = new Proxy(catalog, { get: (c, k) => (k === 'listProtectionGroups' ? () => (ticks++, c.listProtectionGroups()) : Reflect.get(c, k)) });
    // A queue whose next backoff ends in 100 ms (the scheduler sleeps at least a second).
    const queue = { list: () => [], pump: async () => {}, nextWakeAt: () => new Date(Date.now() + 100), hasWaiting: () => false };
    const protection = { applyAll: async () => {}, onlineSpec: async () => null };
    const s = new Scheduler({ catalog: counting, store: null as never, jobs: null as never, queue: queue as never, protection: protection as never, clock: systemClock, log: silent }, { realTimers: true, gcTime: null });
    await s.start();
    expect(ticks).toBe(1);
    await new Promise((r) => setTimeout(r, 2600));
    expect(ticks).toBeGreaterThanOrEqual(2);
    await s.stop();
    const after = ticks;
    await new Promise((r) => setTimeout(r, 1500));
    expect(ticks).toBe(after);
  });
});
