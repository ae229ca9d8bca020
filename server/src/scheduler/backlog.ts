/**
 * Which disk points an upload job sends (docs/protection.md, "Online
 * backup"): the newest, and before it every point a missed online slot
 * needs. Pure: the caller reads the catalog.
 *
 * After an outage of the vault that spans several online slots, each missed
 * slot is owed the point it would have sent: the newest disk point created at
 * or before that slot. Slots count from the last successful upload of the
 * source (exclusive) to now (inclusive); a source never uploaded counts from
 * its first upload attempt's slot (inclusive): slots from before it had an
 * online policy were not missed. Points are deduplicated (one point
 * may stand for several slots when no backup ran between them), points
 * already online are skipped, and so is a point the online retention would
 * not hold once uploaded (the GFS rules evaluated over the source's live
 * online copies plus the candidates): sending it would only have it deleted
 * by the next retention pass. The newest point always goes (as retention
 * always keeps the newest copy). Oldest first, so each incremental's parent
 * is online before it and a job cut short has sent the oldest debt.
 */
import type { RecoveryPoint } from '../catalog/index.js';
import { evaluateOnlineRetention, onlineSlotsBetween, type OnlinePolicySpec } from '../retention/index.js';

export interface BacklogInput {
  /** The source's recovery points (any order). */
  points: readonly RecoveryPoint[];
  /** Ids of points with an online copy (live or soft-deleted), and the createdAt of the live ones. */
  online: ReadonlyMap<string, { live: boolean; createdAt: Date }>;
  /** Without a policy only the newest point goes. */
  spec: OnlinePolicySpec | null;
  /** Slots after this instant are owed; null: none (only the newest goes). */
  since: Date | null;
  now: Date;
}

export interface BacklogPoint { point: RecoveryPoint; slot: Date | null; newest: boolean }
export interface BacklogSkip { pointId: string; slot: string; reason: string }

export function planBacklog(i: BacklogInput): { send: BacklogPoint[]; skipped: BacklogSkip[] } {
  const disk = i.points.filter((p) => p.location !== 'vault' && p.createdAt <= i.now).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  const newest = disk[0];
  if (!newest) return { send: [], skipped: [] };
  const chosen = new Map<string, BacklogPoint>();
  const skipped: BacklogSkip[] = [];
  if (i.spec && i.since) {
    for (const slot of onlineSlotsBetween(i.spec, i.since, i.now)) {
      const p = disk.find((x) => x.createdAt <= slot);
      if (!p || p === newest || chosen.has(p.id)) continue;
      if (i.online.has(p.id)) continue; // sent already (by the last upload, or a manual one)
      chosen.set(p.id, { point: p, slot, newest: false });
    }
    // Would the online retention hold each candidate once it is online? (The same rules the prune job applies.)
    const live = [...i.online.values()].filter((o) => o.live).map((o) => o.createdAt);
    const cands = [...chosen.values()];
    const decisions = evaluateOnlineRetention([...live, ...cands.map((c) => c.point.createdAt), newest.createdAt], i.spec, i.now);
    cands.forEach((c, k) => {
      const d = decisions[live.length + k]!;
      if (d.keep) return;
      chosen.delete(c.point.id);
      skipped.push({ pointId: c.point.id, slot: c.slot!.toISOString(), reason: d.reasons.join(', ') });
    });
  }
  const send = [...chosen.values()].sort((a, b) => a.point.createdAt.getTime() - b.point.createdAt.getTime());
  send.push({ point: newest, slot: null, newest: true });
  return { send, skipped };
}
