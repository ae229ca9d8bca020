/**
 * The protection service: applies a group's retention to its members' points
 * and runs the online backup (an 'upload' job) of a member.
 *
 * Retention, per data source of an ACTIVE group (a stopped group keeps
 * everything, as DPM's "stop protection, retain data"):
 * - disk copies (location 'disk' / 'both') by the group's short-term policy;
 *   online copies (the live vault copies of points 'both' / 'vault') by its
 *   online policy, through the vault service (VaultService.applyOnlineRetention,
 *   soft delete); without an online policy they are kept;
 * - the newest point of each tier is always kept ('newest-point-kept'), as
 *   Azure Backup keeps the last point: an agent that stays away longer than
 *   the retention range must not lose its only copy, nor its next backup its
 *   parent;
 * - a disk-only point goes catalog entry first, then its ref list
 *   (prunePoint); a point also in a vault only loses its disk copy (it stays
 *   as location 'vault' with an empty ref list); chunks are GC's. Each pass
 *   that prunes is one 'prune' job whose result lists every point kept and
 *   pruned with its reasons.
 */
import type { ChunkStore } from '../chunk-store/index.js';
import type { Catalog, Job, ProtectionGroup, RecoveryPoint } from '../catalog/index.js';
import { notFound } from '../errors.js';
import type { JobService } from '../jobs/job-service.js';
import type { Logger } from '../log.js';
import { evaluateShortTermRetention, parseOnlinePolicy, type OnlinePolicySpec, type RetentionDecision } from '../retention/index.js';
import { prunePoint } from '../services/maintenance.js';
import type { VaultService } from '../services/vault-service.js';
import type { Clock } from './clock.js';
import type { QueueTask } from './queue.js';
import { scheduledParams } from './runner.js';
import { defaultVault, uploadNewestPoint } from './upload.js';

export interface ProtectionDeps {
  catalog: Catalog;
  store: ChunkStore;
  jobs: JobService;
  clock: Clock;
  /** The server's zone: an online policy without its own timeZone uses it. */
  timeZone: string;
  log: Logger;
  /** The vault service: uploads and online retention. Without it online copies are left alone and uploads fail. */
  vaults?: VaultService;
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
      const online = await this.onlineSpec(group);
      const now = this.d.clock.now();
      const vaults = this.d.vaults;
      const onlineDecisions = online && vaults ? await vaults.onlineRetention(dataSourceId, online, now, { keepNewest: true }) : [];
      const decisions = [...this.decide(group, points), ...onlineDecisions.map((d) => ({ ...d, createdAt: d.createdAt.toISOString(), tier: 'vault' as const }))];
      const pruned = decisions.filter((x) => !x.keep);
      if (!pruned.length) return null;
      const job = await this.d.jobs.startServerJob('prune', { dataSourceId, groupId: group.id, reason: 'retention' }, async () => {
        const failed: string[] = [];
        const note = (id: string) => (e: unknown) => {
          if ((e as { kind?: string }).kind !== 'not-found') failed.push(`recovery point ${id}: ${(e as Error).message}`);
        };
        for (const p of pruned.filter((x) => x.tier === 'disk')) {
          // Only the disk copy: a point also in a vault stays there (location 'vault').
          await prunePoint(this.d.catalog, this.d.store, p.pointId).catch(note(p.pointId));
        }
        // One path for online retention: the vault service decides again (same function) and soft-deletes.
        if (online && vaults && onlineDecisions.some((d) => !d.keep)) {
          await vaults.applyOnlineRetention(dataSourceId, online, now, { keepNewest: true }).catch(note('(online retention)'));
        }
        const result = { dataSource: source.name, group: group.name, kept: decisions.filter((x) => x.keep), pruned } as Record<string, unknown>;
        return failed.length ? { state: 'warning', warnings: failed, result } : { result };
      }, { dataSourceId });
      return (await this.d.jobs.whenEnded(job.id)).job;
    } finally {
      this.inPass.delete(dataSourceId);
    }
  }

  /** Keep / prune for the disk copies of a source's points, the newest always kept. */
  decide(group: ProtectionGroup, points: readonly RecoveryPoint[]): PointDecision[] {
    const now = this.d.clock.now();
    const disk = points.filter((p) => p.location !== 'vault');
    const diskD = evaluateShortTermRetention(disk.map((p) => p.createdAt), group, now);
    return tier(disk, diskD, 'disk', now);
  }

  /**
   * Starts the upload of a queued task on its row: the newest disk point to
   * the vault, after the points of the online slots missed since the last
   * successful upload (scheduler/backlog.ts). No vault service or no vault: it fails before it starts, with
   * the reason (permanent: the next slot tries again).
   */
  async startUpload(task: QueueTask): Promise<Job> {
    const source = await this.d.catalog.getDataSource(task.dataSourceId);
    if (!source) throw notFound('data source', task.dataSourceId);
    const vaults = this.d.vaults;
    const vaultId = await defaultVault(this.d.catalog);
    if (!vaults) throw new Error('this server has no vault service: online backups cannot run');
    // The group's online policy decides which missed slots are owed a point (the backlog).
    const group = source.groupId ? await this.d.catalog.getProtectionGroup(source.groupId) : null;
    const spec = group ? await this.onlineSpec(group) : null;
    return this.d.jobs.startServerJob('upload', scheduledParams(task, 1), async (progress, signal) => {
      const r = await uploadNewestPoint(this.d.catalog, vaults, source, vaultId, progress, signal, { spec, now: this.d.clock.now() });
      return { pointId: r.pointId, result: { ...r } };
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

