/**
 * scheduler — runs protection groups on their own (docs/protection.md,
 * "Scheduler and queue").
 *
 * Owns: the server's Clock (clock.ts), the job queue (queue.ts: concurrency,
 * one job per data source, round-robin fairness, retries, offline waits), its
 * runner over the catalog and JobService (runner.ts), due-work arithmetic
 * (due.ts), the scheduler's tick and wake-ups (scheduler.ts), retention and
 * the online backup of the protection service (protection.ts, upload.ts:
 * through the vault service; backlog.ts: the points of missed online slots),
 * and the daily GC job, which also purges and prunes the vaults.
 *
 * Promises: a slot missed while the server was down runs once; a stopped
 * group runs nothing; every scheduled attempt is a catalog job row ('queued'
 * before it runs), so the admin sees the queue in `strata jobs list`;
 * retention prunes catalog entries first and leaves chunks to GC; a vault
 * outage costs no online point the retention would keep (the next upload
 * sends the backlog, oldest first).
 */
import type { ChunkStore } from '../chunk-store/index.js';
import type { Catalog } from '../catalog/index.js';
import type { AgentGateway } from '../gateway/gateway.js';
import type { JobService } from '../jobs/job-service.js';
import type { Logger } from '../log.js';
import type { VaultService } from '../services/vault-service.js';
import type { Clock } from './clock.js';
import { ProtectionService } from './protection.js';
import { JobQueue, type QueueOptions } from './queue.js';
import { CatalogTaskRunner } from './runner.js';
import { Scheduler, type SchedulerOptions } from './scheduler.js';

export { TestClock, systemClock, isTestClock, type Clock } from './clock.js';
export { JobQueue, DEFAULT_QUEUE_OPTIONS, type QueueOptions, type QueueTask, type TaskOutcome, type TaskRunner } from './queue.js';
export { Scheduler, DEFAULT_GC_TIME, type SchedulerOptions, type TickReport } from './scheduler.js';
export { ProtectionService, NEWEST_KEPT, type ProtectionHooks, type PointDecision } from './protection.js';

export interface ProtectionOptions {
  catalog: Catalog;
  store: ChunkStore;
  jobs: JobService;
  /** Presence only: whether an agent is connected, and when that changes. */
  gateway: Pick<AgentGateway, 'isOnline' | 'onPresence'>;
  clock: Clock;
  log: Logger;
  /** The server's one vault service (sharedVaultService): uploads, online retention, the daily purge. */
  vaults?: VaultService;
  queue?: Partial<QueueOptions>;
  scheduler?: Partial<SchedulerOptions>;
}

export interface Protection {
  queue: JobQueue;
  scheduler: Scheduler;
  protection: ProtectionService;
  /** Stops planning and cancels waiting work; running jobs are JobService's to cancel. */
  stop(): Promise<void>;
}

/** Wires queue, scheduler and protection service together and runs the first tick. */
export async function startProtection(o: ProtectionOptions): Promise<Protection> {
  const { catalog, store, jobs, gateway, clock, log, vaults } = o;
  const timeZone = o.scheduler?.timeZone ?? 'UTC';
  let stopping = false;
  const protection = new ProtectionService({ catalog, store, jobs, clock, timeZone, log, vaults });
  const runner = new CatalogTaskRunner({
    catalog, jobs,
    startUpload: (t) => protection.startUpload(t),
    // Retention right after the new point, while the queue still holds the source.
    ended: async (task, outcome) => { if (outcome.ok && !stopping) await protection.applyRetention(task.dataSourceId); },
  });
  let scheduler: Scheduler | undefined;
  const queue = new JobQueue(runner, {
    clock,
    isAgentOnline: (id) => gateway.isOnline(id),
    isSourceBusy: (id) => jobs.isBusy(id),
    onError: (err, task) => log.warn({ jobId: task.jobId, dataSourceId: task.dataSourceId, err: (err as Error).message }, 'scheduled job'),
    onSettled: () => scheduler?.rearm(),
  }, o.queue);
  scheduler = new Scheduler({ catalog, store, jobs, queue, protection, clock, log, vaults }, { ...o.scheduler, timeZone });
  protection.isHeld = (id) => queue.isRunning(id);
  protection.onReplan(async () => { await scheduler.tick(); });
  jobs.setQueuedCanceller((id, reason) => queue.cancelWaiting(id, reason));
  gateway.onPresence(() => void queue.pump());
  // A manual backup is followed by the same retention as a scheduled one.
  jobs.onEnded(({ job }) => {
    if (stopping || !job?.dataSourceId || job.type !== 'backup' || job.params.scheduled === true) return;
    if (job.state !== 'succeeded' && job.state !== 'warning') return;
    void protection.applyRetention(job.dataSourceId).catch((e) => log.warn({ err: (e as Error).message }, 'retention after a manual backup'));
  });
  await scheduler.start();
  return {
    queue, scheduler, protection,
    async stop() {
      stopping = true;
      await scheduler.stop();
      await queue.close();
    },
  };
}
