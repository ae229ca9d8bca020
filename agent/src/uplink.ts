/**
 * The backup walker's view of the server (BackupUplink) over the link: chunk
 * queries matched to replies by id, and chunk uploads grouped into batches with
 * a bounded number of unacknowledged batches in flight — the agent's memory
 * stays bounded however fast it reads.
 */
import type { Chunk, Frame } from '@strata/protocol';
import type { BackupUplink } from './backup/index.js';
import type { Link } from './link.js';

const BATCH_BYTES = 1024 * 1024;
const BATCH_CHUNKS = 1024;
const MAX_UNACKED = 8;

export class LinkUplink implements BackupUplink {
  private nextQuery = 1;
  private nextBatch = 1;
  private queries = new Map<number, (have: Uint8Array) => void>();
  private unacked = new Set<number>();
  private ackWaiters: Array<() => void> = [];
  private batch: Chunk[] = [];
  /** Release callbacks of the batched chunks whose data is borrowed from the agent's read blocks. */
  private releases: (() => void)[] = [];
  /** The batch keeps chunk data by reference until it is encoded (see flushBatch). */
  readonly releasesData = true;
  private batchBytes = 0;
  bytesSent = 0;
  private failure: Error | null = null;
  private off: () => void;

  constructor(private link: Link, private jobId: string) {
    this.off = link.onFrame((f: Frame) => {
      if (f.kind === 'chunkQueryReply' && f.body.jobId === jobId) {
        this.queries.get(f.body.queryId)?.(f.body.have);
        this.queries.delete(f.body.queryId);
      } else if (f.kind === 'chunkBatchAck' && f.body.jobId === jobId) {
        this.unacked.delete(f.body.batchId);
        this.wake();
      } else if (f.kind === 'jobFailed' && f.body.jobId === jobId) {
        this.abort(new Error(`server: ${f.body.message}`));
      }
    });
    link.onClose((why) => this.abort(new Error(why)));
  }

  abort(e: Error) {
    this.failure ??= e;
    this.releaseBatch();
    this.wake();
    for (const q of this.queries.values()) q(new Uint8Array(0));
  }

  private wake() { for (const w of this.ackWaiters.splice(0)) w(); }

  async query(hashes: Buffer[]): Promise<boolean[]> {
    if (this.failure) throw this.failure;
    const queryId = this.nextQuery++;
    const reply = new Promise<Uint8Array>((r) => this.queries.set(queryId, r));
    await this.link.send({ kind: 'chunkQuery', body: { jobId: this.jobId, queryId, hashes } });
    const have = await reply;
    if (this.failure) throw this.failure;
    return hashes.map((_, i) => ((have[i >> 3] ?? 0) & (1 << (i & 7))) !== 0);
  }

  async send(chunk: Chunk, release?: () => void): Promise<void> {
    if (this.failure) {
      release?.();
      throw this.failure;
    }
    this.batch.push(chunk);
    if (release) this.releases.push(release);
    this.batchBytes += chunk.data.length;
    if (this.batchBytes >= BATCH_BYTES || this.batch.length >= BATCH_CHUNKS) await this.flushBatch();
  }

  /** Sends what is batched now (the agent ran out of read blocks, which the batch may hold). */
  async flush(): Promise<void> {
    await this.flushBatch();
  }

  private async flushBatch() {
    if (!this.batch.length) return;
    while (this.unacked.size >= MAX_UNACKED && !this.failure) await new Promise<void>((r) => this.ackWaiters.push(r));
    if (this.failure) throw this.failure;
    if (!this.batch.length) return; // a concurrent flush took it
    const batchId = this.nextBatch++;
    const chunks = this.batch;
    const releases = this.releases;
    this.bytesSent += this.batchBytes;
    this.batch = [];
    this.releases = [];
    this.batchBytes = 0;
    this.unacked.add(batchId);
    // Link.send encodes the frame (a copy of every chunk's data) before its first await,
    // so the chunks' read blocks can go back to the agent's pool right away.
    const sent = this.link.send({ kind: 'chunkBatch', body: { jobId: this.jobId, batchId, chunks } });
    for (const r of releases) r();
    await sent;
  }

  private releaseBatch() {
    for (const r of this.releases.splice(0)) r();
  }

  /** Sends what is batched and waits until the server acknowledged every batch. */
  async drain() {
    await this.flushBatch();
    while (this.unacked.size && !this.failure) await new Promise<void>((r) => this.ackWaiters.push(r));
    if (this.failure) throw this.failure;
    this.off();
  }
}
