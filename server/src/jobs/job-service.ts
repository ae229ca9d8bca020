/**
 * Starts and tracks jobs: backup and restore on agents, and prune, gc and
 * verify on the server. Every job is a catalog row with live progress; at most
 * one job runs per data source. Callers get the job row at once and poll it.
 */
import type { ChunkStore } from '../chunk-store/index.js';
import type { Catalog } from '../catalog/index.js';
import type { Job, JobType } from '../catalog/types.js';
import { agentOffline, conflict, invalid, notFound, StrataError } from '../errors.js';
import type { AgentGateway } from '../gateway/gateway.js';
import type { Logger } from '../log.js';
import { BackupRun } from './backup-run.js';
import { emptyProgress, type LiveProgress } from './progress.js';
import { RestoreRun } from './restore-run.js';

const PROGRESS_FLUSH_MS = 1000;

interface Running { job: Job; progress: LiveProgress; cancel(reason: string): void; dataSourceId: string | null; startedMs: number; ended: Promise<void> }

export interface RestoreRequest { pointId: string; agentId?: string; target: string; paths?: string[]; overwrite?: boolean }

export class JobService {
  private running = new Map<string, Running>();
  private busySources = new Set<string>();

  constructor(private catalog: Catalog, private store: ChunkStore, private gateway: AgentGateway, private log: Logger) {}

  /** Live progress of a running job (undefined once it ended: read the catalog row). */
  progress(jobId: string): LiveProgress | undefined { return this.running.get(jobId)?.progress; }

  async startBackup(dataSourceId: string): Promise<Job> {
    const source = await this.catalog.getDataSource(dataSourceId);
    if (!source) throw notFound('data source', dataSourceId);
    const agent = await this.catalog.getAgent(source.agentId);
    if (!agent) throw notFound('agent', source.agentId);
    if (this.busySources.has(source.id)) throw conflict(`data source '${source.name}' already has a job running`);
    const session = this.gateway.session(agent.id);
    if (!session) throw agentOffline(agent.name);
    const parent = await this.catalog.latestRecoveryPoint(source.id);
    const agentPoints = await this.catalog.listRecoveryPoints({ agentId: agent.id });
    const ordered = [...(parent ? [parent] : []), ...agentPoints.filter((p) => p.id !== parent?.id)];
    const job = await this.catalog.createJob({ type: 'backup', state: 'running', agentId: agent.id, dataSourceId: source.id, params: { dataSourceId }, startedAt: new Date() });
    const progress = emptyProgress();
    const run = new BackupRun({ store: this.store, catalog: this.catalog, session, jobId: job.id, source, parent, agentPointIds: ordered.map((p) => p.id), progress });
    this.track(job, progress, source.id, (r) => run.cancel(r), async () => {
      await run.start();
      const { point, warnings } = await run.result;
      return { state: warnings.length ? 'warning' : 'succeeded', pointId: point.id, warnings, result: { pointId: point.id } };
    });
    return job;
  }

  async startRestore(req: RestoreRequest): Promise<Job> {
    const point = await this.catalog.getRecoveryPoint(req.pointId);
    if (!point) throw notFound('recovery point', req.pointId);
    const agentId = req.agentId ?? point.agentId;
    const agent = (await this.catalog.getAgent(agentId)) ?? (await this.catalog.getAgentByName(agentId));
    if (!agent) throw notFound('agent', agentId);
    if (req.target && !req.target.startsWith('/')) throw invalid(`restore target '${req.target}' must be an absolute path on the agent`);
    const session = this.gateway.session(agent.id);
    if (!session) throw agentOffline(agent.name);
    const job = await this.catalog.createJob({
      type: 'restore', state: 'running', agentId: agent.id, dataSourceId: point.dataSourceId, pointId: point.id,
      params: { pointId: point.id, target: req.target, paths: req.paths ?? [], overwrite: !!req.overwrite }, startedAt: new Date(),
    });
    const progress = emptyProgress();
    progress.bytesTotal = point.bytes;
    progress.filesTotal = point.files;
    const run = new RestoreRun({ store: this.store, session, jobId: job.id, point, target: req.target, paths: req.paths ?? [], overwrite: !!req.overwrite, progress });
    this.track(job, progress, null, (r) => run.cancel(r), async () => {
      await run.start();
      const r = await run.result;
      return { state: r.warnings.length ? 'warning' : 'succeeded', warnings: r.warnings, result: { files: r.files, bytes: r.bytes } };
    });
    return job;
  }

  /** A server-side job (prune, gc, verify) run in the background with the same bookkeeping. */
  async startServerJob(type: JobType, params: Record<string, unknown>, work: (p: LiveProgress) => Promise<{ state?: 'succeeded' | 'warning' | 'failed'; result?: Record<string, unknown>; warnings?: string[]; errorMessage?: string }>): Promise<Job> {
    const job = await this.catalog.createJob({ type, state: 'running', params: params as never, startedAt: new Date() });
    const progress = emptyProgress();
    this.track(job, progress, null, () => {}, async () => {
      const r = await work(progress);
      return { state: r.state ?? 'succeeded', result: r.result, warnings: r.warnings, errorMessage: r.errorMessage };
    });
    return job;
  }

  /** Resolves when the job ends or after `ms`, whichever is first (long polling for the CLI). */
  async waitForEnd(jobId: string, ms: number): Promise<void> {
    const r = this.running.get(jobId);
    if (!r) return;
    let t: NodeJS.Timeout | undefined;
    await Promise.race([r.ended, new Promise<void>((res) => (t = setTimeout(res, ms)))]);
    clearTimeout(t);
  }

  /** Resolves once every backup that started before `time` (ms) has ended. */
  async waitForBackupsStartedBefore(time: number): Promise<void> {
    const pending = [...this.running.values()].filter((r) => r.job.type === 'backup' && r.startedMs < time).map((r) => r.ended);
    await Promise.all(pending);
  }

  async cancel(jobId: string): Promise<Job> {
    const r = this.running.get(jobId);
    const job = await this.catalog.getJob(jobId);
    if (!job) throw notFound('job', jobId);
    if (!r) throw conflict(`job '${jobId}' is not running (state ${job.state})`);
    r.cancel('cancelled by the admin');
    return job;
  }

  private track(
    job: Job, progress: LiveProgress, dataSourceId: string | null, cancel: (reason: string) => void,
    work: () => Promise<{ state: string; pointId?: string; warnings?: string[]; result?: Record<string, unknown>; errorMessage?: string }>,
  ) {
    let cancelled = false;
    let ended!: () => void;
    const endedP = new Promise<void>((r) => (ended = r));
    this.running.set(job.id, { job, progress, dataSourceId, startedMs: Date.now(), ended: endedP, cancel: (reason) => { cancelled = true; cancel(reason); } });
    if (dataSourceId) this.busySources.add(dataSourceId);
    const started = Date.now();
    const timer = setInterval(() => {
      void this.catalog.updateJobProgress(job.id, counters(progress)).catch(() => {});
    }, PROGRESS_FLUSH_MS);
    timer.unref();
    void (async () => {
      let final: { state: string; pointId?: string; warnings?: string[]; result?: Record<string, unknown>; errorMessage?: string };
      try {
        final = await work();
      } catch (e) {
        const msg = (e as Error).message;
        final = { state: cancelled ? 'cancelled' : 'failed', errorMessage: msg };
        if (!(e instanceof StrataError) || e.kind !== 'invalid') this.log.warn({ jobId: job.id, type: job.type, err: msg }, 'job failed');
      }
      clearInterval(timer);
      try {
        await this.catalog.finishJob(job.id, final.state as never, {
          ...counters(progress), pointId: final.pointId ?? null, errorMessage: final.errorMessage ?? null,
          warnings: (final.warnings ?? []).slice(0, 1000), result: { ...(final.result ?? {}), durationMs: Date.now() - started } as never,
        });
      } catch (e) {
        this.log.error({ jobId: job.id, err: (e as Error).message }, 'could not record the end of a job');
      } finally {
        this.running.delete(job.id);
        if (dataSourceId) this.busySources.delete(dataSourceId);
        ended();
      }
    })();
  }

  async close() {
    for (const r of this.running.values()) r.cancel('server shutting down');
  }
}

function counters(p: LiveProgress) {
  return {
    bytesScanned: p.bytesScanned, bytesSent: p.bytesSent, bytesStored: p.bytesStored, filesScanned: p.filesScanned,
    filesChanged: p.filesChanged, bytesTotal: p.bytesTotal, filesTotal: p.filesTotal,
  };
}
