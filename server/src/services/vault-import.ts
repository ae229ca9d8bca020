/**
 * Disaster recovery: recording the recovery points of an attached vault in
 * an (empty or not) catalog, from the vault alone. Each point's manifest
 * names its data source and agent and, in `extra`, their names and paths
 * (written by VaultService.uploadPoint). Agents and data sources the catalog
 * lacks are recreated with their original ids; a recreated agent is revoked
 * (its key is unknown: it must be enrolled again before it can connect) and
 * never raises agent-offline alerts. Points come in as location 'vault' with
 * their online copy marked `imported`, with an empty ref list in the chunk
 * store (garbage collection marks from every catalog point; these hold no
 * chunk on disk). Rerunning is harmless: what exists is kept.
 *
 * Soft delete: a point with a `deleted/<id>` marker in the vault comes in
 * soft-deleted with the marker's deletedAt and purgeAfter (undeletable until
 * then; an expired one is purged by the next daily purge, never revived).
 */
import { randomUUID } from 'node:crypto';
import type { Catalog, Vault as VaultRecord } from '../catalog/index.js';
import type { ChunkStore } from '../chunk-store/index.js';
import type { Logger } from '../log.js';
import type { DeletedMarker, VaultPoint } from '../vault/index.js';
import type { FallbackReader } from './vault-read.js';

export interface ImportSummary {
  points: number;
  /** Points already in the catalog (only their online copy was recorded). */
  known: number;
  agentsCreated: number;
  dataSourcesCreated: number;
  /** Points that came in soft-deleted (their vault marker said so). */
  deleted: number;
  /** Manifests that could not be read (damaged on every target). */
  failed: { pointId: string; error: string }[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown, d: string): string => (typeof v === 'string' && v.trim() !== '' ? v : d);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);

export async function importVaultPoints(
  catalog: Catalog, store: ChunkStore, rec: VaultRecord, reader: FallbackReader, log?: Logger, deleted: ReadonlyMap<string, DeletedMarker> = new Map(),
): Promise<ImportSummary> {
  const s: ImportSummary = { points: 0, known: 0, agentsCreated: 0, dataSourcesCreated: 0, deleted: 0, failed: [] };
  const points: VaultPoint[] = [];
  for (const id of await reader.pointIds()) {
    try {
      points.push(await reader.getPoint(id));
    } catch (err) {
      s.failed.push({ pointId: id, error: (err as Error).message });
      log?.warn({ vault: rec.name, pointId: id, err: (err as Error).message }, 'attach: a point manifest cannot be read');
    }
  }
  // Oldest first, so a parent is in the catalog before its children.
  points.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  for (const p of points) {
    if (!UUID.test(p.id) || !UUID.test(p.agentId) || !UUID.test(p.dataSourceId)) {
      s.failed.push({ pointId: p.id, error: 'not a point of a Strata server (its ids are not uuids)' });
      continue;
    }
    const extra = obj(p.extra);
    const existing = await catalog.getRecoveryPoint(p.id);
    if (existing) {
      s.known++;
    } else {
      await ensureAgent(catalog, p, obj(extra.agent), rec, s);
      await ensureSource(catalog, p, obj(extra.dataSource), s);
      const parent = p.parentPointId && (await catalog.getRecoveryPoint(p.parentPointId)) ? p.parentPointId : null;
      // Every catalog point is a GC mark with a ref list; its chunks are in the vault, none on disk: an empty one.
      await store.refs.write(p.id, []);
      await catalog.createRecoveryPoint({
        id: p.id, dataSourceId: p.dataSourceId, agentId: p.agentId,
        jobId: typeof extra.jobId === 'string' && UUID.test(extra.jobId) ? extra.jobId : randomUUID(),
        createdAt: p.createdAt, root: p.root, files: p.files, dirs: p.dirs, bytes: p.bytes,
        bytesAdded: 0, parentPointId: parent, location: 'vault', vaultId: rec.id,
      });
    }
    const online = await catalog.recordVaultPoint({ pointId: p.id, vaultId: rec.id, uploadedAt: p.uploadedAt, chunks: p.chunks, bytesSent: 0, imported: true });
    const marker = deleted.get(p.id);
    if (marker && !online.deletedAt) {
      await catalog.softDeleteVaultPoint(p.id, marker.purgeAfter, marker.deletedAt);
      s.deleted++;
    }
    s.points++;
  }
  return s;
}

async function freeName(taken: (n: string) => Promise<boolean>, want: string, vault: string): Promise<string> {
  if (!(await taken(want))) return want;
  for (let i = 1; ; i++) {
    const n = `${want} (from vault ${vault}${i > 1 ? ` ${i}` : ''})`;
    if (!(await taken(n))) return n;
  }
}

async function ensureAgent(catalog: Catalog, p: VaultPoint, a: Obj, rec: VaultRecord, s: ImportSummary): Promise<void> {
  if (await catalog.getAgent(p.agentId)) return;
  const hostname = str(a.hostname, `agent-${p.agentId.slice(0, 8)}`);
  const name = await freeName(async (n) => !!(await catalog.getAgentByName(n)), str(a.name, hostname), rec.name);
  // No key: the agent cannot authenticate until it is enrolled again.
  await catalog.createAgent({ id: p.agentId, name, hostname, publicKey: '' });
  await catalog.revokeAgent(p.agentId);
  s.agentsCreated++;
}

async function ensureSource(catalog: Catalog, p: VaultPoint, d: Obj, s: ImportSummary): Promise<void> {
  if (await catalog.getDataSource(p.dataSourceId)) return;
  const name = await freeName(async (n) => !!(await catalog.getDataSourceByName(p.agentId, n)), str(d.name, `source-${p.dataSourceId.slice(0, 8)}`), 'vault');
  await catalog.createDataSource({ id: p.dataSourceId, agentId: p.agentId, name, paths: strs(d.paths), includes: strs(d.includes), excludes: strs(d.excludes) });
  s.dataSourcesCreated++;
}
