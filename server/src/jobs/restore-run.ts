/**
 * The server side of one restore job: sends the point's root to the agent and
 * serves the chunks it asks for — only chunks the point references (checked
 * against the point's ref list, so a restore cannot read other data). The
 * chunk store checks each record as it reads it (crc, the hash it names,
 * lengths) but does not decompress and SHA-256 it: the agent does that for
 * every chunk it receives, and fails the restore naming a chunk whose bytes
 * do not match (docs/storage-format.md §5, rule 8b).
 */
import { ErrorCode, type Chunk, type Frame } from '@strata/protocol';
import type { ChunkStore } from '../chunk-store/index.js';
import type { RecoveryPoint } from '../catalog/types.js';
import type { AgentSession } from '../gateway/session.js';
import { JobRun } from './job-run.js';
import type { LiveProgress } from './progress.js';

/**
 * Where a restore reads: the point's ref list (membership only) and chunks in
 * their stored form. The chunk store for points on disk; the vault's source
 * (services/vault-restore.ts) for points only in the vault.
 */
export interface RestoreChunkSource {
  refs: { open(pointId: string): Promise<{ has(hash: Buffer): boolean; close(): void }> };
  getStoredMany: ChunkStore['getStoredMany'];
}

export interface RestoreRunDeps {
  store: RestoreChunkSource;
  session: AgentSession;
  jobId: string;
  point: RecoveryPoint;
  target: string;
  paths: string[];
  overwrite: boolean;
  progress: LiveProgress;
}

export interface RestoreOutcome { files: number; bytes: number; warnings: string[] }

export class RestoreRun extends JobRun<RestoreOutcome> {
  private refs: { has(hash: Buffer): boolean; close(): void } | null = null;

  constructor(private d: RestoreRunDeps) {
    super(d.session, d.jobId, 'restore');
  }

  async start() {
    const { session, jobId, point, target, paths, overwrite } = this.d;
    this.refs = await this.d.store.refs.open(point.id);
    session.attach(jobId, this);
    await session.send({
      kind: 'restore',
      body: { jobId, pointId: point.id, root: point.root.map((h) => Buffer.from(h, 'hex')), target, paths, overwrite },
    });
  }

  async onFrame(frame: Frame) {
    if (this.finished) return;
    switch (frame.kind) {
      case 'chunkRequest': {
        const hashes = frame.body.hashes.map((h) => Buffer.from(h));
        for (const hash of hashes) {
          if (!this.refs!.has(hash)) {
            this.fail(new Error(`agent asked for chunk ${hash.toString('hex')}, which point ${this.d.point.id} does not reference`));
            return this.d.session.conn.fail(ErrorCode.NotFound, `chunk ${hash.toString('hex')} is not part of the point being restored`);
          }
        }
        let chunks: Chunk[];
        try {
          // Records stored close together are read together; each record is checked (crc), the
          // content's SHA-256 by the agent. A damaged record fails here, naming the chunk and the pack.
          chunks = await this.d.store.getStoredMany(hashes, 'record');
        } catch (e) {
          // A damaged or missing chunk fails this restore with the store's message; the agent stops too.
          return this.failAndTell(e as Error);
        }
        for (const c of chunks) this.d.progress.bytesSent += c.data.length;
        await this.d.session.send({ kind: 'chunkBatch', body: { jobId: this.d.jobId, batchId: frame.body.batchId, chunks } });
        return;
      }
      case 'progress':
        Object.assign(this.d.progress, {
          bytesScanned: frame.body.bytesScanned, filesScanned: frame.body.filesScanned,
          bytesTotal: frame.body.bytesTotal, filesTotal: frame.body.filesTotal, currentPath: frame.body.currentPath,
        });
        return;
      case 'restoreDone':
        this.succeed({ files: frame.body.files, bytes: frame.body.bytes, warnings: frame.body.warnings });
        return;
      case 'jobFailed':
      case 'error':
        return this.fail(new Error(`agent: ${frame.body.message}`));
      default:
        return this.d.session.conn.fail(ErrorCode.OutOfOrder, `unexpected frame: '${frame.kind}' during a restore`);
    }
  }

  protected override cleanup() {
    this.refs?.close();
  }
}
