/**
 * Recovery points in the vault (docs/vault-format.md §6): `points/<id>`, the
 * point's record (written last: a point exists iff this object does), and
 * `refs/<id>`, the sorted list of every chunk id it references.
 */
import { checkPointId } from '../chunk-store/index.js';
import { CHUNK_ID_BYTES, POINT_FORMAT_NAME, POINT_FORMAT_VERSION } from './format.js';
import { recordHead } from './record.js';

/** What the caller says about the point being uploaded. */
export interface VaultPointInput {
  id: string;
  dataSourceId: string;
  agentId: string;
  createdAt: Date;
  /** Hex SHA-256 of the root tree chunks, in order. */
  root: string[];
  files?: number;
  dirs?: number;
  bytes?: number;
  parentPointId?: string | null;
  /** Free-form data for disaster recovery (data source name, paths, …); must be JSON. */
  extra?: Record<string, unknown>;
}

/** The point as recorded in the vault. */
export interface VaultPoint {
  id: string;
  dataSourceId: string;
  agentId: string;
  createdAt: Date;
  uploadedAt: Date;
  root: string[];
  /** Distinct chunks referenced. */
  chunks: number;
  refsKey: string;
  files: number;
  dirs: number;
  bytes: number;
  parentPointId: string | null;
  extra: Record<string, unknown>;
}

export const pointKey = (id: string): string => `points/${id}`;
export const refsKey = (id: string): string => `refs/${id}`;

const HEX32 = /^[0-9a-f]{64}$/;

export function encodePoint(p: VaultPoint): Buffer {
  return Buffer.from(JSON.stringify({
    format: POINT_FORMAT_NAME, version: POINT_FORMAT_VERSION,
    id: p.id, dataSourceId: p.dataSourceId, agentId: p.agentId,
    createdAt: p.createdAt.toISOString(), uploadedAt: p.uploadedAt.toISOString(),
    root: p.root, chunks: p.chunks, refsKey: p.refsKey,
    files: p.files, dirs: p.dirs, bytes: p.bytes, parentPointId: p.parentPointId, extra: p.extra,
  }), 'utf8');
}

/** Decode and check a point payload; returns a reason when it is not a valid point record. */
export function decodePoint(payload: Buffer, expectId: string): VaultPoint | string {
  const j = recordHead(payload, 'point record', POINT_FORMAT_NAME, POINT_FORMAT_VERSION, expectId);
  if (typeof j === 'string') return j;
  const str = (v: unknown): v is string => typeof v === 'string';
  const num = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (!str(j.dataSourceId) || !str(j.agentId) || !str(j.createdAt) || !str(j.uploadedAt) || !str(j.refsKey)) return 'point record misses a field';
  if (!Array.isArray(j.root) || !j.root.every((h) => str(h) && HEX32.test(h))) return 'point record has a bad root';
  if (!num(j.chunks) || !num(j.files) || !num(j.dirs) || !num(j.bytes)) return 'point record has a bad count';
  const createdAt = new Date(j.createdAt);
  const uploadedAt = new Date(j.uploadedAt);
  if (Number.isNaN(createdAt.getTime()) || Number.isNaN(uploadedAt.getTime())) return 'point record has a bad time';
  return {
    id: expectId, dataSourceId: j.dataSourceId, agentId: j.agentId, createdAt, uploadedAt,
    root: j.root as string[], chunks: j.chunks, refsKey: j.refsKey, files: j.files, dirs: j.dirs, bytes: j.bytes,
    parentPointId: str(j.parentPointId) ? j.parentPointId : null,
    extra: typeof j.extra === 'object' && j.extra !== null ? (j.extra as Record<string, unknown>) : {},
  };
}

export function checkPointInput(p: VaultPointInput): void {
  checkPointId(p.id);
  if (!Array.isArray(p.root) || !p.root.every((h) => typeof h === 'string' && HEX32.test(h))) {
    throw new TypeError(`recovery point ${p.id}: root must be lower-case hex SHA-256 digests`);
  }
  if (!(p.createdAt instanceof Date) || Number.isNaN(p.createdAt.getTime())) throw new TypeError(`recovery point ${p.id}: bad createdAt`);
}

/** Sorted, distinct chunk ids → refs payload (count u32 then the ids). */
export function encodeRefs(sortedIds: Buffer[]): Buffer {
  const b = Buffer.alloc(4 + sortedIds.length * CHUNK_ID_BYTES);
  b.writeUInt32LE(sortedIds.length, 0);
  sortedIds.forEach((id, i) => id.copy(b, 4 + i * CHUNK_ID_BYTES));
  return b;
}

export function decodeRefs(b: Buffer): Buffer[] | string {
  if (b.length < 4) return 'refs payload too short';
  const n = b.readUInt32LE(0);
  if (b.length !== 4 + n * CHUNK_ID_BYTES) return `refs payload size ${b.length} does not match ${n} ids`;
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const id = b.subarray(4 + i * CHUNK_ID_BYTES, 4 + (i + 1) * CHUNK_ID_BYTES);
    if (i > 0 && Buffer.compare(out[i - 1], id) >= 0) return 'refs are not sorted and distinct';
    out.push(id);
  }
  return out;
}
