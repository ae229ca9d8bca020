/**
 * The online backup of a data source (an 'upload' job): the newest recovery
 * point on the server's disk goes to the vault through the vault service
 * (services/vault-service.ts), which sends only the chunks the vault lacks
 * and records the online copy (location 'both') once its manifest is in the
 * vault — and before it, oldest first, the points of the online slots missed
 * since the last successful upload (backlog.ts), so an outage of the vault
 * costs no online points. An unreachable vault is a transient failure: the
 * queue retries it with backoff while short-term backups go on; the points
 * sent before the failure stay recorded (each is recorded as it completes),
 * and the retry skips them.
 */
import type { Catalog, DataSourceRecord } from '../catalog/index.js';
import { StrataError } from '../errors.js';
import type { LiveProgress } from '../jobs/progress.js';
import type { OnlinePolicySpec } from '../retention/index.js';
import type { VaultService } from '../services/vault-service.js';
import type { UploadProgress } from '../vault/index.js';
import { planBacklog, type BacklogSkip } from './backlog.js';

export interface PointSent {
  pointId: string;
  createdAt: string;
  /** The missed online slot it stands for; null for the newest point. */
  slot: string | null;
  alreadyInVault: boolean;
  chunks: number;
  chunksSent: number;
  chunksSkipped: number;
  packsSent: number;
  bytesSent: number;
}

/** The newest point's outcome at the top (as before backlogs), and every point sent, oldest first. */
export interface UploadOutcome extends Omit<PointSent, 'createdAt' | 'slot'> {
  vaultId: string;
  vaultName: string;
  points: PointSent[];
  /** Points of missed slots not sent: the online retention would not keep them. */
  skipped: BacklogSkip[];
  totalBytesSent: number;
}

/**
 * Sends the backlog and then the newest disk point of `source` to `vaultId`.
 * Progress covers the whole backlog: bytesTotal / filesTotal are the sums of
 * the points to send; chunks seen, bytes sent and read add up across points.
 */
export async function uploadNewestPoint(
  catalog: Catalog, vaults: VaultService, source: DataSourceRecord, vaultId: string, progress: LiveProgress, signal: AbortSignal,
  o: { spec?: OnlinePolicySpec | null; now?: Date } = {},
): Promise<UploadOutcome> {
  const now = o.now ?? new Date();
  const points = await catalog.listRecoveryPoints({ dataSourceId: source.id });
  const online = new Map<string, { live: boolean; createdAt: Date }>();
  for (const p of points) {
    if (p.location === 'disk') continue;
    const row = await catalog.getVaultPoint(p.id);
    if (row) online.set(p.id, { live: !row.deletedAt, createdAt: p.createdAt });
  }
  const plan = planBacklog({ points, online, spec: o.spec ?? null, since: await backlogSince(catalog, source.id), now });
  if (!plan.send.length) throw new StrataError('NOTHING_TO_UPLOAD', `data source '${source.name}' has no recovery point on disk to send to the vault yet`);
  progress.bytesTotal = plan.send.reduce((a, x) => a + x.point.bytes, 0);
  progress.filesTotal = plan.send.reduce((a, x) => a + x.point.files, 0);
  const sent: PointSent[] = [];
  const done = { chunks: 0, bytesSent: 0, raw: 0 };
  let last: Awaited<ReturnType<VaultService['uploadPoint']>> | undefined;
  for (const { point, slot } of plan.send) {
    signal.throwIfAborted();
    const r = await vaults.uploadPoint(point.id, { vault: vaultId, signal, onProgress: uploadProgressInto(progress, { ...done }) });
    done.chunks += r.chunksSeen;
    done.bytesSent += r.bytesSent;
    done.raw += r.rawBytesSent;
    sent.push({
      pointId: point.id, createdAt: point.createdAt.toISOString(), slot: slot?.toISOString() ?? null, alreadyInVault: r.alreadyInVault,
      chunks: r.chunks, chunksSent: r.chunksSent, chunksSkipped: r.chunksSkipped, packsSent: r.packsSent, bytesSent: r.bytesSent,
    });
    last = r;
  }
  const newest = sent.at(-1)!;
  return {
    pointId: newest.pointId, vaultId: last!.vaultId, vaultName: last!.vaultName, alreadyInVault: newest.alreadyInVault, chunks: newest.chunks,
    chunksSent: newest.chunksSent, chunksSkipped: newest.chunksSkipped, packsSent: newest.packsSent, bytesSent: newest.bytesSent,
    points: sent, skipped: plan.skipped, totalBytesSent: done.bytesSent,
  };
}

/**
 * An upload's progress in a job's counters: chunks seen where verify counts
 * chunks checked; bytes as sent (compressed, encrypted) and as read. `base`
 * holds what earlier points of the same job already added.
 */
export function uploadProgressInto(progress: LiveProgress, base = { chunks: 0, bytesSent: 0, raw: 0 }): (p: UploadProgress) => void {
  return (p) => {
    progress.filesScanned = base.chunks + p.chunksSeen;
    progress.bytesSent = base.bytesSent + p.bytesSent;
    progress.bytesScanned = base.raw + p.rawBytesSent;
  };
}

/**
 * Slots after this are owed a point: the start of the last successful
 * scheduled upload of the source; never one: just before the slot of its first upload
 * attempt (that slot is owed, earlier ones — before the source had an online
 * policy — are not); no attempt at all: null.
 */
async function backlogSince(catalog: Catalog, dataSourceId: string): Promise<Date | null> {
  // A manual upload (strata vault upload: one chosen point) owes nothing for the slots before it: only scheduled ones count.
  const scheduled = (j: { params: Record<string, unknown> }) => j.params?.manual !== true;
  const lastOk = (await catalog.listJobs({ dataSourceId, type: 'upload', state: ['succeeded', 'warning'], limit: 1000 })).find(scheduled);
  if (lastOk) return lastOk.startedAt ?? lastOk.createdAt;
  const first = (await catalog.listJobs({ dataSourceId, type: 'upload', limit: 1000 })).filter(scheduled).at(-1);
  if (!first) return null;
  const slot = typeof first.params.slot === 'string' ? new Date(first.params.slot) : first.createdAt;
  return new Date((Number.isNaN(slot.getTime()) ? first.createdAt : slot).getTime() - 1);
}

/**
 * The vault online backups go to. An online policy names no vault (its spec
 * is only schedule and retention), so it is the first ready vault created.
 */
export async function defaultVault(catalog: Catalog): Promise<string> {
  const first = (await catalog.listVaults()).find((v) => v.state === 'ready');
  if (!first) throw new StrataError('NO_VAULT', 'no vault: create one with strata vault create for the online backups to go to');
  return first.id;
}
