/**
 * The server side of one backup job on one agent: answers "which chunks do you
 * lack?" from this agent's own recovery points only (no cross-agent oracle),
 * stores uploaded chunks (the store verifies each against its hash), and on
 * commit makes everything durable, proves every referenced chunk is present,
 * writes the point's ref list and only then records the recovery point.
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode, MAX_BATCH_ITEMS, ProtocolError, type Chunk, type Frame } from '@strata/protocol';
import type { ChunkStore, RefList } from '../chunk-store/index.js';
import type { Catalog } from '../catalog/index.js';
import type { DataSourceRecord, RecoveryPoint } from '../catalog/types.js';
import type { AgentSession } from '../gateway/session.js';
import { JobRun } from './job-run.js';
import { walkPoint } from '../services/point-tree.js';
import type { LiveProgress } from './progress.js';

export interface BackupRunDeps {
  store: ChunkStore;
  catalog: Catalog;
  session: AgentSession;
  jobId: string;
  source: DataSourceRecord;
  parent: RecoveryPoint | null;
  /** Ids of this agent's recovery points, newest first: the only places a "have" answer may come from. */
  agentPointIds: string[];
  progress: LiveProgress;
}

export interface BackupOutcome { point: RecoveryPoint; warnings: string[] }

type RefLookup = RefList;

export class BackupRun extends JobRun<BackupOutcome> {
  private refs: RefLookup[] | null = null;

  constructor(private d: BackupRunDeps) {
    super(d.session, d.jobId, 'backup');
  }

  async start() {
    const { session, jobId, source, parent } = this.d;
    session.attach(jobId, this);
    await session.send({
      kind: 'backup',
      body: { jobId, dataSourceId: source.id, paths: source.paths, includes: source.includes, excludes: source.excludes, parentPointId: parent?.id ?? '' },
    });
  }

  async onFrame(frame: Frame) {
    if (this.finished) return;
    switch (frame.kind) {
      case 'chunkQuery': return this.onQuery(frame.body.queryId, frame.body.hashes);
      case 'chunkBatch':
        try {
          return await this.onBatch(frame.body.batchId, frame.body.chunks);
        } catch (e) {
          const err = e as Error & { code?: string };
          if (err.code === 'CHUNK_HASH_MISMATCH') {
            this.fail(new Error(`backup failed: the agent sent a chunk that does not match its hash (${err.message})`));
            throw new ProtocolError(ErrorCode.ChunkRejected, err.message);
          }
          // A store failure (disk full, I/O error) fails this job with the store's own
          // message; the agent is told and the connection stays up.
          return this.failAndTell(err);
        }
      case 'progress': {
        const p = frame.body;
        Object.assign(this.d.progress, {
          bytesScanned: p.bytesScanned, filesScanned: p.filesScanned, filesChanged: p.filesChanged,
          bytesTotal: p.bytesTotal, filesTotal: p.filesTotal, currentPath: p.currentPath,
        });
        return;
      }
      case 'backupCommit':
        try {
          return await this.onCommit(frame.body.root, frame.body);
        } catch (e) {
          return this.failAndTell(e as Error);
        }
      case 'jobFailed':
      case 'error':
        return this.fail(new Error(`agent: ${frame.body.message}`));
      default:
        return this.d.session.conn.fail(ErrorCode.OutOfOrder, `unexpected frame: '${frame.kind}' during a backup`);
    }
  }

  private async ownRefs(): Promise<RefLookup[]> {
    if (!this.refs) {
      this.refs = [];
      for (const id of this.d.agentPointIds) {
        try {
          this.refs.push(await this.d.store.refs.open(id));
        } catch {
          // A point whose ref list is gone (being pruned) simply answers nothing.
        }
      }
    }
    return this.refs;
  }

  private async onQuery(queryId: number, hashes: Uint8Array[]) {
    const refs = await this.ownRefs();
    const have = Buffer.alloc(Math.ceil(hashes.length / 8));
    // No own points (a first backup): nothing to look up, the answer is "all missing".
    for (let i = 0; refs.length > 0 && i < hashes.length; i++) {
      const h = asBuffer(hashes[i]!);
      for (const r of refs) {
        if (r.has(h)) {
          // Pin the chunk against a running GC before the agent relies on it; if GC
          // already removed it, the agent must upload it again.
          if (this.d.store.markInUse(h)) have[i >> 3]! |= 1 << (i & 7);
          break;
        }
      }
    }
    await this.d.session.send({ kind: 'chunkQueryReply', body: { jobId: this.d.jobId, queryId, have } });
  }

  private async onBatch(batchId: number, chunks: Chunk[]) {
    if (chunks.length > MAX_BATCH_ITEMS) throw new Error('batch too large');
    // The store checks every chunk against its hash; a lie fails the job, not the server.
    // One putMany per batch: the batch is stored (or refused) whole, before its ack.
    // Hashes and data stay views of the received frame: the store copies what it keeps.
    for (const c of chunks) this.d.progress.bytesSent += c.data.byteLength;
    const r = await this.d.store.putMany(chunks.map((c) => ({ hash: asBuffer(c.hash), compression: c.compression, rawSize: c.rawSize, data: asBuffer(c.data) })));
    this.d.progress.bytesStored += r.storedBytes;
    await this.d.session.send({ kind: 'chunkBatchAck', body: { jobId: this.d.jobId, batchId } });
  }

  private async onCommit(root: Uint8Array[], c: { files: number; dirs: number; bytes: number; warnings: string[] }) {
    const { store, catalog, source, jobId, parent, session } = this.d;
    await store.flush();
    const refs = await this.ownRefs();
    const rootHex = root.map((h) => Buffer.from(h).toString('hex'));
    const pointId = randomUUID();
    let copied = false;
    if (parent && refs.length && refs[0]!.pointId === parent.id && sameRoot(parent.root, rootHex)) {
      // Nothing changed: the same root means the same tree, so the parent's
      // (verified, live) ref list is exactly this point's. (If the parent was
      // pruned meanwhile its file is gone: walk instead.)
      copied = await store.refs.write(pointId, refs[0]!.iterate()).then(() => true, () => false);
    }
    if (!copied) {
      // Present for sure: in one of this agent's live points, or in the store's index now
      // (store.locate: the same synchronous lookup as store.has, without a promise per chunk).
      const known = (h: Buffer) => refs.some((r) => r.has(h)) || store.locate(h) !== undefined;
      const walk = walkPoint(store, root, known);
      await store.refs.write(pointId, walk.hashes);
      if (walk.missing.length) {
        await store.refs.delete(pointId);
        throw new Error(`backup refused: referenced chunk(s) are not in the store, e.g. ${walk.missing[0]}`);
      }
    }
    const point = await catalog.createRecoveryPoint({
      id: pointId, dataSourceId: source.id, agentId: source.agentId, jobId,
      root: rootHex,
      files: c.files, dirs: c.dirs, bytes: c.bytes, bytesAdded: this.d.progress.bytesStored,
      parentPointId: parent?.id ?? null, location: 'disk',
    });
    await session.send({ kind: 'backupDone', body: { jobId, pointId } });
    this.succeed({ point, warnings: c.warnings });
  }

  protected override cleanup() {
    for (const r of this.refs ?? []) r.close();
    this.refs = null;
  }
}

/** The frame decoders hand out Buffer views already; anything else is wrapped (not copied). */
const asBuffer = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength));

const sameRoot = (a: string[], b: string[]) => a.length === b.length && a.every((h, i) => h === b[i]);
