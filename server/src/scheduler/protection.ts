/**
 * The protection service: applies a group's retention to its members' points
 * and runs the online backup (an 'upload' job) of a member.
 *
 * Retention, per data source of an ACTIVE group (a stopped group keeps
 * everything, as DPM's "stop protection, retain data"):
 * - disk points (location 'disk' / 'both') by the group's short-term policy,
 *   vault points (location 'vault') by its online policy (none: all kept);
 * - the newest point of each tier is always kept ('newest-point-kept'), as
 *   Azure Backup keeps the last point: an agent that stays away longer than
 *   the retention range must not lose its only copy, nor its next backup its
 *   parent;
 * - pruning is catalog entry first, then the ref list (prunePoint); chunks
 *   are GC's. Each pass that prunes is one 'prune' job whose result lists
 *   every point kept and pruned with its reasons.
 */
import type { ChunkStore } from '../chunk-store/index.js';
import type { Catalog, Job, ProtectionGroup, RecoveryPoint } from '../catalog/index.js';
import { notFound } from '../errors.js';
import type { JobService } from '../jobs/job-service.js';
import type { Logger } from '../log.js';
import { evaluateOnlineRetention, evaluateShortTermRetention, parseOnlinePolicy, type OnlinePolicySpec, type RetentionDecision } from '../retention/index.js';
import { prunePoint } from '../services/maintenance.js';
import type { Clock } from './clock.js';
import type { QueueTask } from './queue.js';
import { scheduledParams } from './runner.js';
import { defaultVault, recordOnlinePoint } from './upload.js';

export interface ProtectionDeps {
  catalog: Catalog;
  store: ChunkStore;
  jobs: JobService;
  clock: Clock;
  /** The server's zone: an online policy without its own timeZone uses it. */
  timeZone: string;
  log: Logger;
}

export interface PointDecision { pointId: string; createdAt: string; tier: 'disk' | 'vault'; keep: boolean; reasons: string[] }

export const NEWEST_KEPT = 'newest-point-kept';

/** What the REST API calls after a change (ApiContext.protection). */
export interface ProtectionHooks {
  policyChanged(policyId: string): Promise<void>;
  groupChanged(groupId: string): Promise<void>;
}

export class ProtectionService implements ProtectionHooks {
  /** Sources whose retention pass runs now: a second pass waits for the next occasion. */
  private inPass = new Set<string>();
  private replanners = new Set<() => Promise<void>>();
  /** Set by the scheduler: work it runs on a source holds the source. */
  isHeld: (dataSourceId: string) => boolean = () => false;

  constructor(private d: ProtectionDeps) {}

  /** The scheduler re-plans (due work, timers) after every change. */
  onReplan(fn: () => Promise<void>): void { this.replanners.add(fn); }

  /** Retention changes at once for every group using the policy (retroactively), then the scheduler re-plans. */
  async policyChanged(policyId: string): Promise<void> {
    for (const g of await this.d.catalog.listProtectionGroups()) if (g.onlinePolicyId === policyId) await this.applyGroup(g);
    await this.replan();
  }

  async groupChanged(groupId: string): Promise<void> {
    const g = await this.d.catalog.getProtectionGroup(groupId);
    if (g) await this.applyGroup(g);
    await this.replan();
  }

  /** Every member of every active group whose source is not busy. */
  async applyAll(): Promise<void> {
    for (const g of await this.d.catalog.listProtectionGroups()) await this.applyGroup(g);
  }

  async applyGroup(group: ProtectionGroup): Promise<void> {
    if (group.state !== 'active') return;
    for (const s of await this.d.catalog.listGroupMembers(group.id)) {
      if (this.isHeld(s.id) || this.d.jobs.isBusy(s.id)) continue;
      await this.applyRetention(s.id).catch((e) => this.d.log.warn({ dataSourceId: s.id, err: (e as Error).message }, 'retention pass failed'));
    }
  }

  /**
   * Decides retention for one source and prunes what falls out, as one
   * 'prune' job; resolves with that job once it ended, or null when nothing
   * was pruned (or the source is not in an active group, or busy).
   */
  async applyRetention(dataSourceId: string): Promise<Job | null> {
    // A job on the source (a manual backup) comes first; retention follows its end.
    if (this.inPass.has(dataSourceId) || this.d.jobs.isBusy(dataSourceId)) return null;
    this.inPass.add(dataSourceId);
    try {
      const source = await this.d.catalog.getDataSource(dataSourceId);
      const group = source?.groupId ? await this.d.catalog.getProtectionGroup(source.groupId) : null;
      if (!source || !group || group.state !== 'active') return null;
      const points = await this.d.catalog.listRecoveryPoints({ dataSourceId });
      const decisions = this.decide(group, points, await this.onlineSpec(group));
      const pruned = decisions.filter((x) => !x.keep);
      if (!pruned.length) return null;
      const job = await this.d.jobs.startServerJob('prune', { dataSourceId, groupId: group.id, reason: 'retention' }, async () => {
        const failed: string[] = [];
        for (const p of pruned) {
          await prunePoint(this.d.catalog, this.d.store, p.pointId).catch((e) => {
            if ((e as { kind?: string }).kind !== 'not-found') failed.push(`recovery point ${p.pointId}: ${(e as Error).message}`);
          });
        }
        const result = { dataSource: source.name, group: group.name, kept: decisions.filter((x) => x.keep), pruned } as Record<string, unknown>;
        return failed.length ? { state: 'warning', warnings: failed, result } : { result };
      }, { dataSourceId });
      return (await this.d.jobs.whenEnded(job.id)).job;
    } finally {
      this.inPass.delete(dataSourceId);
    }
  }

  /** Keep / prune for every point of a source, both tiers, newest of each tier always kept. */
  decide(group: ProtectionGroup, points: readonly RecoveryPoint[], online: OnlinePolicySpec | null): PointDecision[] {
    const now = this.d.clock.now();
    const disk = points.filter((p) => p.location !== 'vault');
    const vault = points.filter((p) => p.location === 'vault');
    const times = (ps: readonly RecoveryPoint[]) => ps.map((p) => p.createdAt);
    const diskD = evaluateShortTermRetention(times(disk), group, now);
    // Without an online policy nothing decides about vault points: they stay.
    const vaultD = online ? evaluateOnlineRetention(times(vault), online, now) : vault.map((p) => ({ time: p.createdAt, keep: true, reasons: ['no-online-policy'] }));
    return [...tier(disk, diskD, 'disk', now), ...tier(vault, vaultD, 'vault', now)];
  }

  /** Starts the upload of a queued task on its row: an online point from the newest disk point. */
  async startUpload(task: QueueTask): Promise<Job> {
    const source = await this.d.catalog.getDataSource(task.dataSourceId);
    if (!source) throw notFound('data source', task.dataSourceId);
    const vaultId = await defaultVault(this.d.catalog);
    return this.d.jobs.startServerJob('upload', scheduledParams(task, 1), async () => {
      const c = await recordOnlinePoint(this.d.catalog, this.d.store, source, vaultId, task.jobId);
      return { pointId: c.point.id, result: { pointId: c.point.id, fromPointId: c.fromPointId, vaultId: c.vaultId } };
    }, { queuedJobId: task.jobId, dataSourceId: source.id, agentId: source.agentId });
  }

  /** The group's online policy, parsed; null without one (or one the current code refuses). */
  async onlineSpec(group: ProtectionGroup): Promise<OnlinePolicySpec | null> {
    if (!group.onlinePolicyId) return null;
    const p = await this.d.catalog.getOnlinePolicy(group.onlinePolicyId);
    if (!p) return null;
    try {
      return parseOnlinePolicy(p.spec, this.d.timeZone);
    } catch (e) {
      // A stored spec the current code refuses: keep every vault point rather than guess.
      this.d.log.warn({ policy: p.name, err: (e as Error).message }, 'online policy does not parse; its points are kept');
      return null;
    }
  }

  private async replan() {
    for (const fn of this.replanners) await fn();
  }
}

function tier(points: readonly RecoveryPoint[], decisions: readonly RetentionDecision[], name: 'disk' | 'vault', now: Date): PointDecision[] {
  const past = points.filter((p) => p.createdAt <= now);
  const newest = past.reduce<RecoveryPoint | null>((a, p) => (!a || p.createdAt > a.createdAt ? p : a), null);
  return points.map((p, i) => {
    const d = decisions[i]!;
    const keepNewest = p === newest && !d.keep;
    return {
      pointId: p.id, createdAt: p.createdAt.toISOString(), tier: name,
      keep: d.keep || keepNewest, reasons: keepNewest ? [...d.reasons, NEWEST_KEPT] : d.reasons,
    };
  });
}

