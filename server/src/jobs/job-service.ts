/**
 * Starts and tracks jobs: backup and restore on agents, and prune, gc, verify
 * and upload on the server. Every job is a catalog row with live progress; at
 * most one job runs per data source. Callers get the job row at once and poll
 * it. A job the scheduler queued (a catalog row in state 'queued') is adopted
 * by passing its id: the same row goes on to 'running' and its end.
 */
import type { ChunkStore } from '../chunk-store/index.js';
import type { Catalog } from '../catalog/index.js';
import { systemClock, type Clock } from '../catalog/index.js';
import type { Job, JobType } from '../catalog/types.js';
import { agentOffline, conflict, invalid, notFound, StrataError } from '../errors.js';
import type { AgentGateway } from '../gateway/gateway.js';
import type { Logger } from '../log.js';
import { BackupRun } from './backup-run.js';
import { emptyProgress, type LiveProgress } from './progress.js';
import { RestoreRun, type RestoreChunkSource } from './restore-run.js';
import type { VaultService } from '../services/vault-service.js';
import { checkVaultRestore, vaultChunkSource } from '../services/vault-restore.js';

const PROGRESS_FLUSH_MS = 1000;

interface Running { job: Job; progress: LiveProgress; cancel(reason: string): void; dataSourceId: string | null; startedMs: number; ended: Promise<JobEnd> }

export interface RestoreRequest {
  pointId: string; agentId?: string; target: string; paths?: string[]; overwrite?: boolean;
  /**
   * Which vault target to read. Without it a point only in the vault reads 'auto' (the primary,
   * falling back to the secondary) and any other point reads the chunk store; with it the
   * restore reads the vault even when the point is also on disk (cross-region restore).
   */
  vaultTarget?: 'auto' | 'primary' | 'secondary';
}

export const VAULT_TARGETS = ['auto', 'primary', 'secondary'] as const;

/** Where a restore's chunks came from (the job result's `source`). */
export type RestoreSource = 'disk' | `vault:${(typeof VAULT_TARGETS)[number]}`;

/** A restore request's vault target: undefined when not given; anything but auto / primary / secondary is a 400. */
export function parseVaultTarget(v: unknown): RestoreRequest['vaultTarget'] {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' && (VAULT_TARGETS as readonly string[]).includes(v)) return v as RestoreRequest['vaultTarget'];
  throw invalid(`vaultTarget must be auto, primary or secondary (got ${JSON.stringify(v)})`);
}

/** How a job ended; `transient` when a retry may succeed (the agent went away, the store was busy). */
export interface JobEnd { job: Job | null; transient: boolean }

/** Adopt a queued catalog row instead of creating a new one. */
export interface StartOptions { queuedJobId?: string }

export interface ServerJobOptions extends StartOptions {
  /** The data source the job works on: no other job may run on it meanwhile. */
  dataSourceId?: string;
  agentId?: string;
}

/** `signal` aborts when the job is cancelled (by the admin, or the server shutting down). */
type ServerJobWork = (p: LiveProgress, signal: AbortSignal) => Promise<{ state?: 'succeeded' | 'warning' | 'failed'; result?: Record<string, unknown>; warnings?: string[]; errorMessage?: string; pointId?: string }>;

/** Errors from the server's and the chunk store's error classes alike carry a kind. */
const isTransient = (e: unknown) => (e as { kind?: string } | null)?.kind === 'transient';

export class JobService {
  private running = new Map<string, Running>();
  private busySources = new Set<string>();
  private endListeners = new Set<(end: JobEnd) => void>();
  private queuedCanceller: ((jobId: string, reason: string) => Promise<boolean>) | null = null;

  /** `clock` is the server's, for those that hold only the JobService; rows are stamped by the catalog, which has the same clock. */
  constructor(
    private catalog: Catalog, private store: ChunkStore, private gateway: AgentGateway, private log: Logger, readonly clock: Clock = systemClock,
    /** Restores of points only in a vault read their chunks through it. */
    private vaults?: VaultService,
  ) {}

  /** True while a job runs on this data source (the queue does not even try a second). */
  isBusy(dataSourceId: string): boolean { return this.busySources.has(dataSourceId); }

  /** Called with the final row of every job that ends. */
  onEnded(fn: (end: JobEnd) => void): () => void {
    this.endListeners.add(fn);
    return () => this.endListeners.delete(fn);
  }

  /** Lets the owner of queued rows (the scheduler's queue) cancel one that has not started. */
  setQueuedCanceller(fn: (jobId: string, reason: string) => Promise<boolean>) { this.queuedCanceller = fn; }

  /** Resolves with the job's end (at once, from the catalog, if it is not running here). */
  async whenEnded(jobId: string): Promise<JobEnd> {
    const r = this.running.get(jobId);
    if (r) return r.ended;
    return { job: await this.catalog.getJob(jobId), transient: false };
  }

  /** Live progress of a running job (undefined once it ended: read the catalog row). */
  progress(jobId: string): LiveProgress | undefined { return this.running.get(jobId)?.progress; }

  async startBackup(dataSourceId: string, opts: StartOptions = {}): Promise<Job> {
    const source = await this.catalog.getDataSource(dataSourceId);
    if (!source) throw notFound('data source', dataSourceId);
    const agent = await this.catalog.getAgent(source.agentId);
    if (!agent) throw notFound('agent', source.agentId);
    if (this.busySources.has(source.id)) throw conflict(`data source '${source.name}' already has a job running`);
    const session = this.gateway.session(agent.id);
    if (!session) throw agentOffline(agent.name);
    // The parent is the newest point on disk: an online copy (location 'vault') has the
    // same tree, but the agent knows only the points it took itself.
    const agentPoints = await this.catalog.listRecoveryPoints({ agentId: agent.id });
    const parent = agentPoints.find((p) => p.dataSourceId === source.id && p.location !== 'vault') ?? null;
    const ordered = [...(parent ? [parent] : []), ...agentPoints.filter((p) => p.id !== parent?.id)];
    const job = await this.begin(opts.queuedJobId, { type: 'backup', agentId: agent.id, dataSourceId: source.id, params: { dataSourceId } });
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
    const vaultTarget = parseVaultTarget(req.vaultTarget);
    // Where the chunks come from: the chunk store ('disk', 'both'), or the vault when only it holds the
    // point — or when a vault target is asked for (a cross-region restore on purpose, even of a 'both' point).
    const fromVault = point.location === 'vault' || !!vaultTarget;
    if (fromVault) {
      if (!this.vaults) throw invalid(`recovery point ${point.id} is in a vault, and this server has no vault service`);
      // A wrong request is a 400 / 409 whether or not the agent is online.
      await checkVaultRestore(this.vaults, point, vaultTarget);
    }
    const session = this.gateway.session(agent.id);
    if (!session) throw agentOffline(agent.name);
    let source: RestoreChunkSource = this.store;
    let from: RestoreSource = 'disk';
    let hold: { release(): void } | null = null;
    if (fromVault && this.vaults && point.vaultId) {
      // The read hold keeps vault pruning from rewriting or deleting packs while the restore reads them.
      hold = await this.vaults.acquireRead(point.vaultId);
      try {
        source = await vaultChunkSource(this.vaults, point, { target: vaultTarget });
      } catch (e) {
        hold.release();
        throw e;
      }
      from = `vault:${vaultTarget ?? 'auto'}`;
    }
    let job: Job;
    try {
      job = await this.catalog.createJob({
        type: 'restore', state: 'running', agentId: agent.id, dataSourceId: point.dataSourceId, pointId: point.id,
        params: { pointId: point.id, target: req.target, paths: req.paths ?? [], overwrite: !!req.overwrite, vaultTarget: vaultTarget ?? null },
      });
    } catch (e) {
      hold?.release();
      throw e;
    }
    const progress = emptyProgress();
    progress.bytesTotal = point.bytes;
    progress.filesTotal = point.files;
    const run = new RestoreRun({ store: source, session, jobId: job.id, point, target: req.target, paths: req.paths ?? [], overwrite: !!req.overwrite, progress });
    this.track(job, progress, null, (r) => run.cancel(r), async () => {
      // The hold is released here, when the job's work ends whichever way (success, failure, cancel:
      // run.result settles in each case), not by the chunk source: it is taken before the job row exists.
      try {
        await run.start();
        const r = await run.result;
        return { state: r.warnings.length ? 'warning' : 'succeeded', warnings: r.warnings, result: { files: r.files, bytes: r.bytes, source: from } };
      } finally {
        hold?.release();
      }
    });
    return job;
  }

  /**
   * A server-side job (prune, gc, verify, upload) run in the background with the
   * same bookkeeping. With opts.dataSourceId it holds that source like a backup.
   */
  async startServerJob(type: JobType, params: Record<string, unknown>, work: ServerJobWork, opts: ServerJobOptions = {}): Promise<Job> {
    const sourceId = opts.dataSourceId ?? null;
    if (sourceId && this.busySources.has(sourceId)) throw conflict(`data source '${sourceId}' already has a job running`);
    const job = await this.begin(opts.queuedJobId, { type, params: params as never, dataSourceId: sourceId, agentId: opts.agentId ?? null });
    const progress = emptyProgress();
    const abort = new AbortController();
    this.track(job, progress, sourceId, (reason) => abort.abort(new Error(reason)), async () => {
      const r = await work(progress, abort.signal);
      return { state: r.state ?? 'succeeded', result: r.result, warnings: r.warnings, errorMessage: r.errorMessage, pointId: r.pointId };
    });
    return job;
  }

  /** A new running row, or the queued row `queuedJobId` moved to running (CONFLICT if it is no longer queued). */
  private async begin(queuedJobId: string | undefined, row: Pick<Job, 'type'> & Partial<Pick<Job, 'agentId' | 'dataSourceId' | 'params'>>): Promise<Job> {
    if (!queuedJobId) return this.catalog.createJob({ ...row, state: 'running' });
    if (!(await this.catalog.startJob(queuedJobId))) throw conflict(`job '${queuedJobId}' is no longer queued`);
    const job = await this.catalog.getJob(queuedJobId);
    if (!job) throw notFound('job', queuedJobId);
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

  /**
   * Resolves once every backup that started before `time` (ms) has ended: it
   * writes a ref list whose chunks GC must then see as live. Uploads write
   * none (they read a point whose ref list exists), so GC does not wait for
   * an upload that may run for hours.
   */
  async waitForBackupsStartedBefore(time: number): Promise<void> {
    const pending = [...this.running.values()].filter((r) => r.job.type === 'backup' && r.startedMs < time).map((r) => r.ended);
    await Promise.all(pending);
  }

  async cancel(jobId: string): Promise<Job> {
    const r = this.running.get(jobId);
    const job = await this.catalog.getJob(jobId);
    if (!job) throw notFound('job', jobId);
    if (!r && job.state === 'queued' && (await this.queuedCanceller?.(jobId, 'cancelled by the admin'))) return (await this.catalog.getJob(jobId)) ?? job;
    if (!r) throw conflict(`job '${jobId}' is not running (state ${job.state})`);
    r.cancel('cancelled by the admin');
    return job;
  }

  private track(
    job: Job, progress: LiveProgress, dataSourceId: string | null, cancel: (reason: string) => void,
    work: () => Promise<{ state: string; pointId?: string; warnings?: string[]; result?: Record<string, unknown>; errorMessage?: string }>,
  ) {
    let cancelled = false;
    let ended!: (end: JobEnd) => void;
    const endedP = new Promise<JobEnd>((r) => (ended = r));
    this.running.set(job.id, { job, progress, dataSourceId, startedMs: Date.now(), ended: endedP, cancel: (reason) => { cancelled = true; cancel(reason); } });
    if (dataSourceId) this.busySources.add(dataSourceId);
    const started = Date.now();
    const timer = setInterval(() => {
      void this.catalog.updateJobProgress(job.id, counters(progress)).catch(() => {});
    }, PROGRESS_FLUSH_MS);
    timer.unref();
    void (async () => {
      let final: { state: string; pointId?: string; warnings?: string[]; result?: Record<string, unknown>; errorMessage?: string };
      let transient = false;
      try {
        final = await work();
      } catch (e) {
        const msg = (e as Error).message;
        final = { state: cancelled ? 'cancelled' : 'failed', errorMessage: msg };
        // Worth a retry: a transient error, or the agent of an agent-side job is gone (disconnected mid-job).
        const agentSide = job.type === 'backup' || job.type === 'restore';
        transient = !cancelled && (isTransient(e) || (agentSide && !!job.agentId && !this.gateway.isOnline(job.agentId)));
        if (!(e instanceof StrataError) || e.kind !== 'invalid') this.log.warn({ jobId: job.id, type: job.type, err: msg }, 'job failed');
      }
      clearInterval(timer);
      let row: Job | null = null;
      try {
        row = await this.catalog.finishJob(job.id, final.state as never, {
          ...counters(progress), pointId: final.pointId ?? null, errorMessage: final.errorMessage ?? null,
          warnings: (final.warnings ?? []).slice(0, 1000), result: { ...(final.result ?? {}), durationMs: Date.now() - started } as never,
        });
      } catch (e) {
        this.log.error({ jobId: job.id, err: (e as Error).message }, 'could not record the end of a job');
      } finally {
        this.running.delete(job.id);
        if (dataSourceId) this.busySources.delete(dataSourceId);
        const end = { job: row, transient };
        ended(end);
        for (const fn of this.endListeners) {
          try { fn(end); } catch (e) { this.log.warn({ err: (e as Error).message }, 'job end listener failed'); }
        }
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
