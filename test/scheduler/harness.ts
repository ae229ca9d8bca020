/**
 * A scheduler on a TestClock over a real catalog (SQLite in a tmp dir) and a
 * real chunk store, with fake job starters: a "backup" marks its queued row
 * running, records when it ran, and ends it (at once, or when the test
 * releases it). Everything else — due work, the queue, retention, the vault
 * service (a local vault once a test creates one) — is real.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { openCatalog, type Catalog } from '../../server/src/catalog/index.js';
import { ChunkStore } from '../../server/src/chunk-store/index.js';
import { JobService } from '../../server/src/jobs/job-service.js';
import { TestClock } from '../../server/src/scheduler/clock.js';
import { ProtectionService } from '../../server/src/scheduler/protection.js';
import { JobQueue, type QueueOptions, type QueueTask, type TaskOutcome } from '../../server/src/scheduler/queue.js';
import { CatalogTaskRunner } from '../../server/src/scheduler/runner.js';
import { Scheduler, type SchedulerOptions } from '../../server/src/scheduler/scheduler.js';
import { VaultService } from '../../server/src/services/vault-service.js';
import { SAMPLE_KEY } from '../catalog/harness.js';

export const MIN = 60_000;
export const HOUR = 60 * MIN;
const silent = pino({ level: 'silent' });

export interface Run { at: string; kind: string; dataSourceId: string; jobId: string }

/** Fake job starters: record the run, hold it while `hold` is set, end the catalog row. */
class FakeStarters extends CatalogTaskRunner {
  runs: Run[] = [];
  hold = false;
  private held: Array<() => void> = [];

  constructor(private catalog: Catalog, private clock: TestClock) {
    super({ catalog, jobs: null as never, startUpload: null as never });
  }

  override async run(task: QueueTask): Promise<TaskOutcome> {
    if (!(await this.catalog.startJob(task.jobId))) throw new Error(`job ${task.jobId} was not queued`);
    this.runs.push({ at: this.clock.now().toISOString(), kind: task.kind, dataSourceId: task.dataSourceId, jobId: task.jobId });
    if (this.hold) await new Promise<void>((r) => this.held.push(r));
    await this.catalog.finishJob(task.jobId, 'succeeded');
    return { ok: true };
  }

  /** Lets every held run end. */
  release() {
    for (const r of this.held.splice(0)) r();
  }
}

export interface Harness {
  dir: string;
  clock: TestClock;
  catalog: Catalog;
  store: ChunkStore;
  jobs: JobService;
  vaults: VaultService;
  starters: FakeStarters;
  queue: JobQueue;
  protection: ProtectionService;
  scheduler: Scheduler;
  /** Advances the clock, ticks, and waits for the runs that are not held. */
  step(ms: number): Promise<void>;
  /** A new scheduler and queue on the same catalog: a server restart. */
  restart(): Promise<void>;
  /** An agent and a data source in a new group. */
  member(group: { name: string; syncFrequencyMinutes: number; retentionDays?: number; onlinePolicyId?: string | null; state?: 'active' | 'stopped' }): Promise<{ sourceId: string; agentId: string; groupId: string }>;
  close(): Promise<void>;
}

export async function schedulerHarness(start: string, opts: { timeZone?: string; queue?: Partial<QueueOptions>; scheduler?: Partial<SchedulerOptions> } = {}): Promise<Harness> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'strata-scheduler-'));
  const clock = new TestClock(start);
  const catalog = await openCatalog({ dataDir: dir, clock });
  const store = await ChunkStore.open(path.join(dir, 'chunks'));
  const gateway = { isOnline: () => true, session: () => undefined, onPresence: () => {} };
  const jobs = new JobService(catalog, store, gateway as never, silent, clock);
  const timeZone = opts.timeZone ?? 'UTC';
  const vaults = new VaultService({
    catalog, store, dataDir: dir, timeZone, clock, log: silent,
    vaultOptions: { retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 } },
    upload: { packSize: 64 << 10, retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 } },
  });
  let n = 0;

  const build = () => {
    const starters = new FakeStarters(catalog, clock);
    const protection = new ProtectionService({ catalog, store, jobs, clock, timeZone, log: silent, vaults });
    const queue = new JobQueue(starters, { clock, isAgentOnline: () => true, isSourceBusy: (id) => jobs.isBusy(id) }, opts.queue);
    protection.isHeld = (id) => queue.isRunning(id);
    const scheduler = new Scheduler({ catalog, store, jobs, queue, protection, clock, log: silent, vaults }, { timeZone, gcTime: null, realTimers: false, ...opts.scheduler });
    return { starters, protection, queue, scheduler };
  };

  const h: Harness = {
    dir, clock, catalog, store, jobs, vaults, ...build(),
    async step(ms) {
      clock.advance(ms);
      await h.scheduler.tick();
      await settle(h);
    },
    async restart() {
      await h.scheduler.stop();
      await h.queue.close();
      const runs = h.starters.runs;
      Object.assign(h, build());
      h.starters.runs = runs;
    },
    async member(g) {
      const agent = await catalog.createAgent({ hostname: `host-${++n}`, publicKey: SAMPLE_KEY });
      const source = await catalog.createDataSource({ agentId: agent.id, name: `docs-${n}`, paths: ['/docs'] });
      const group = await catalog.createProtectionGroup({
        name: g.name, syncFrequencyMinutes: g.syncFrequencyMinutes, retentionDays: g.retentionDays ?? 14, maxPoints: 64,
        onlinePolicyId: g.onlinePolicyId ?? null, state: g.state ?? 'active',
      });
      await catalog.setDataSourceGroup(source.id, group.id);
      return { sourceId: source.id, agentId: agent.id, groupId: group.id };
    },
    async close() {
      starters().release();
      await h.scheduler.stop();
      await h.queue.close();
      await h.queue.idle();
      await vaults.close();
      await store.close();
      await catalog.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const starters = () => h.starters;
  return h;
}

/** Waits for the runs to end, or, while runs are held, until they have started. */
export async function settle(h: Pick<Harness, 'queue' | 'starters'>) {
  if (!h.starters.hold) return h.queue.idle();
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}
