/**
 * The queue's TaskRunner over the real parts: a task's attempt is a catalog
 * job row ('queued' until it starts), run by JobService (backup on the agent,
 * upload on the server), and its end is read back from JobService.
 */
import type { Catalog, Job } from '../catalog/index.js';
import type { JobService } from '../jobs/job-service.js';
import type { QueueTask, TaskOutcome, TaskRunner } from './queue.js';

export interface RunnerDeps {
  catalog: Catalog;
  jobs: JobService;
  /** Starts the upload of a task on its queued row (see ProtectionService.startUpload). */
  startUpload(task: QueueTask): Promise<Job>;
  /** After every attempt, while the queue still holds the data source. */
  ended?(task: QueueTask, outcome: TaskOutcome): Promise<void>;
}

const isTransient = (e: unknown) => (e as { kind?: string } | null)?.kind === 'transient';

/** The params of every scheduled job row; `attempt` counts from 1. */
export const scheduledParams = (task: Pick<QueueTask, 'dataSourceId'>, attempt: number, extra: Record<string, string> = {}) =>
  ({ dataSourceId: task.dataSourceId, scheduled: true, attempt, ...extra });

export class CatalogTaskRunner implements TaskRunner {
  constructor(private d: RunnerDeps) {}

  async run(task: QueueTask): Promise<TaskOutcome> {
    let job: Job;
    try {
      job = task.kind === 'backup' ? await this.d.jobs.startBackup(task.dataSourceId, { queuedJobId: task.jobId }) : await this.d.startUpload(task);
    } catch (e) {
      const message = (e as Error).message;
      // Refused before it began (agent gone since the check, store busy, a manual job took the
      // source in between): the row is still queued and waits its turn again.
      if (isTransient(e) || this.d.jobs.isBusy(task.dataSourceId)) return { ok: false, transient: true, message, notStarted: true };
      await this.abandon(task, 'failed', message);
      return { ok: false, transient: false, message };
    }
    const end = await this.d.jobs.whenEnded(job.id);
    const state = end.job?.state;
    if (state === 'succeeded' || state === 'warning') return { ok: true };
    return { ok: false, transient: end.transient, message: end.job?.errorMessage ?? `the ${task.kind} job ended as '${state ?? 'unknown'}'` };
  }

  async requeue(task: QueueTask, attempt: number, reason: string): Promise<string> {
    const job = await this.d.catalog.createJob({
      type: task.kind, agentId: task.agentId, dataSourceId: task.dataSourceId,
      params: scheduledParams(task, attempt, { retryOf: task.jobId, previousError: reason.slice(0, 500) }),
    });
    return job.id;
  }

  async abandon(task: QueueTask, state: 'failed' | 'cancelled', message: string): Promise<void> {
    try {
      await this.d.catalog.finishJob(task.jobId, state, { errorMessage: message });
    } catch (e) {
      // Already ended (an admin or a restart got there first): the first finisher wins.
      if ((e as { code?: string }).code !== 'JOB_FINISHED') throw e;
    }
  }

  async ended(task: QueueTask, outcome: TaskOutcome): Promise<void> {
    await this.d.ended?.(task, outcome);
  }
}
