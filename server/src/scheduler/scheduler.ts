/**
 * The scheduler: on every tick it reads the protection groups from the
 * catalog, queues the syncs and online backups that are due at the clock's
 * time, pumps the queue, applies retention to idle sources and starts the
 * daily garbage collection when its time has come. Between ticks it sleeps:
 * with the real clock node-schedule wakes it at the next slot (or when the
 * queue's next backoff or offline wait ends); with a TestClock whoever moves
 * the clock calls tick().
 *
 * Ticks never overlap: one runs at a time and requests made meanwhile fold
 * into one more.
 */
import schedule from 'node-schedule';
import type { Agent, Catalog, DataSourceRecord, Job, JobType, ProtectionGroup } from '../catalog/index.js';
import type { ChunkStore } from '../chunk-store/index.js';
import type { JobService } from '../jobs/job-service.js';
import type { Logger } from '../log.js';
import { nextOnlineSlot, nextSyncSlot, type OnlinePolicySpec } from '../retention/index.js';
import { garbageCollect } from '../services/maintenance.js';
import type { VaultService } from '../services/vault-service.js';
import type { Clock } from './clock.js';
import { dailyAt, onlineDue, syncDue } from './due.js';
import type { ProtectionService } from './protection.js';
import type { JobQueue, TaskKind } from './queue.js';
import { scheduledParams } from './runner.js';

export interface SchedulerOptions {
  /** IANA zone of sync slots and of the GC time (and the default of online policies). */
  timeZone: string;
  /** Daily garbage collection at this local 'HH:MM'; null: none scheduled. */
  gcTime: string | null;
  /** Wake by itself with node-schedule (real clock); false: only tick() moves it (TestClock). */
  realTimers: boolean;
  /** The longest sleep between ticks, a safety net for anything no slot announces. */
  maxSleepMs: number;
}

export const DEFAULT_GC_TIME = '03:00';

export interface SchedulerDeps {
  catalog: Catalog;
  store: ChunkStore;
  jobs: JobService;
  queue: JobQueue;
  protection: ProtectionService;
  clock: Clock;
  log: Logger;
  /** With it, the daily GC job also purges online copies whose soft-delete time is up. */
  vaults?: VaultService;
}

export interface TickReport {
  at: Date;
  queued: Array<{ jobId: string; kind: TaskKind; dataSourceId: string; slot: Date }>;
  gcJobId: string | null;
}

export class Scheduler {
  readonly options: SchedulerOptions;
  private bootAt: Date | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private pending: Promise<TickReport> | null = null;
  private timer: schedule.Job | null = null;
  private nextPlanned: Date | null = null;
  private stopped = false;

  constructor(private d: SchedulerDeps, options: Partial<SchedulerOptions> = {}) {
    this.options = { timeZone: 'UTC', gcTime: DEFAULT_GC_TIME, realTimers: true, maxSleepMs: 60 * 60_000, ...options };
  }

  /** First tick: a slot missed while the server was down runs now, once. */
  async start(): Promise<TickReport> {
    this.bootAt = this.d.clock.now();
    return this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    await this.chain;
  }

  /** Plans and starts what is due now. Requests during a running tick fold into one more. */
  tick(): Promise<TickReport> {
    if (this.pending) return this.pending;
    const p = this.chain.then(() => {
      this.pending = null;
      return this.runTick();
    });
    this.pending = p;
    this.chain = p.catch((e) => this.d.log.error({ err: (e as Error).message }, 'scheduler tick failed'));
    return p;
  }

  /** The next slot (sync, online or GC) the last tick saw: when the scheduler wakes by itself. */
  get nextSlot(): Date | null { return this.nextPlanned; }

  /** Re-arms the wake-up (after the queue's state changed: a retry's backoff, an offline wait). */
  rearm(): void {
    if (!this.options.realTimers || this.stopped) return;
    const now = this.d.clock.now().getTime();
    const candidates = [this.nextPlanned?.getTime(), this.d.queue.nextWakeAt()?.getTime(), now + this.options.maxSleepMs];
    const at = Math.max(now + 1000, Math.min(...candidates.filter((x): x is number => x !== undefined)));
    this.timer?.cancel();
    this.timer = schedule.scheduleJob(new Date(at), () => void this.tick().catch(() => {}));
  }

  private async runTick(): Promise<TickReport> {
    const { catalog, queue, protection } = this.d;
    const now = this.d.clock.now();
    this.bootAt ??= now;
    const report: TickReport = { at: now, queued: [], gcJobId: null };
    if (this.stopped) return report;
    let next = Infinity;
    const protectedNow = new Set<string>();
    const agents = new Map<string, Agent | null>();
    for (const group of await catalog.listProtectionGroups()) {
      if (group.state !== 'active') continue;
      const online = await protection.onlineSpec(group);
      next = Math.min(next, nextSyncSlot(group.syncFrequencyMinutes, now, this.options.timeZone).getTime());
      if (online) next = Math.min(next, nextOnlineSlot(online, now).getTime());
      for (const source of await catalog.listGroupMembers(group.id)) {
        protectedNow.add(source.id);
        if (!agents.has(source.agentId)) agents.set(source.agentId, await catalog.getAgent(source.agentId));
        const agent = agents.get(source.agentId);
        if (!agent || agent.revokedAt) continue; // a revoked agent can never run a backup again
        await this.planSource(group, online, source, agent, now, report);
      }
    }
    // Stopped groups run nothing: what still waits for their members is cancelled.
    for (const t of queue.list()) {
      if (t.state === 'waiting' && !protectedNow.has(t.dataSourceId)) await queue.cancelWaiting(t.jobId, 'protection of the data source was stopped');
    }
    await queue.pump();
    await protection.applyAll();
    report.gcJobId = await this.maybeGc(now);
    if (this.options.gcTime) next = Math.min(next, nextOnlineSlot(dailyAt(this.options.gcTime, this.options.timeZone), now).getTime());
    this.nextPlanned = Number.isFinite(next) ? new Date(next) : null;
    this.rearm();
    return report;
  }

  private async planSource(group: ProtectionGroup, online: OnlinePolicySpec | null, source: DataSourceRecord, agent: Agent, now: Date, report: TickReport) {
    const { queue } = this.d;
    if (!queue.hasWaiting(source.id, 'backup')) {
      const last = await this.newestJob(source.id, 'backup');
      const slot = syncDue(group.syncFrequencyMinutes, now, this.options.timeZone, last?.createdAt ?? null);
      if (slot) await this.enqueue('backup', group, source, agent, slot, report);
    }
    if (online && !queue.hasWaiting(source.id, 'upload')) {
      const last = await this.newestJob(source.id, 'upload');
      const since = last ? null : await this.firstDiskPointAt(source.id);
      const slot = onlineDue(online, now, last?.createdAt ?? null, since);
      if (slot) await this.enqueue('upload', group, source, agent, slot, report);
    }
  }

  private async enqueue(kind: TaskKind, group: ProtectionGroup, source: DataSourceRecord, agent: Agent, slot: Date, report: TickReport) {
    const job = await this.d.catalog.createJob({
      type: kind, agentId: agent.id, dataSourceId: source.id,
      params: scheduledParams({ dataSourceId: source.id }, 1, { groupId: group.id, slot: slot.toISOString() }),
    });
    this.d.queue.add({
      jobId: job.id, kind, dataSourceId: source.id, agentId: agent.id, agentName: agent.name,
      needsAgent: kind === 'backup',
      label: kind === 'backup' ? `the scheduled backup of '${source.name}'` : `the scheduled online backup of '${source.name}'`,
    });
    report.queued.push({ jobId: job.id, kind, dataSourceId: source.id, slot });
  }

  /** Garbage collection once a day at gcTime; a server that slept through it collects once at start. */
  private async maybeGc(now: Date): Promise<string | null> {
    if (!this.options.gcTime) return null;
    const [last] = await this.d.catalog.listJobs({ type: 'gc', limit: 1 });
    // Before any GC ever ran, the first is at the first gcTime after this server started.
    const slot = onlineDue(dailyAt(this.options.gcTime, this.options.timeZone), now, last?.createdAt ?? null, this.bootAt);
    if (!slot) return null;
    const { catalog, store, jobs } = this.d;
    const { vaults } = this.d;
    const job = await jobs.startServerJob('gc', { scheduled: true, slot: slot.toISOString() }, async (_progress, signal) => {
      const gc = await garbageCollect(catalog, store, (t) => jobs.waitForBackupsStartedBefore(t), undefined, signal);
      if (!vaults) return { result: { ...gc } };
      // Soft-deleted online copies past their purge time leave the vault, then each vault is pruned once
      // (packs reclaimed; postponed while restores read it). An unreachable vault: next day.
      const purge = await vaults.purgeExpired(now, { signal }).catch((e: unknown) => ({ purged: [], failed: [{ pointId: '*', error: (e as Error).message }], pruning: null }));
      const warnings = [
        ...purge.failed.map((f) => `vault purge of recovery point ${f.pointId}: ${f.error}`),
        ...(purge.pruning?.failed ?? []).map((f) => `vault pruning of '${f.vaultName}': ${f.error}`),
      ];
      const { pruning, ...vaultPurge } = purge;
      return { result: { ...gc, vaultPurge, vaultPrune: pruning }, ...(warnings.length ? { state: 'warning' as const, warnings } : {}) };
    });
    return job.id;
  }

  private async newestJob(dataSourceId: string, type: JobType): Promise<Job | null> {
    const [job] = await this.d.catalog.listJobs({ dataSourceId, type, limit: 1 });
    return job ?? null;
  }

  private async firstDiskPointAt(dataSourceId: string): Promise<Date | null> {
    const disk = (await this.d.catalog.listRecoveryPoints({ dataSourceId })).filter((p) => p.location !== 'vault');
    return disk.at(-1)?.createdAt ?? null;
  }
}
