/**
 * Appends verified chunks to pack files with large sequential writes.
 *
 * Records are encoded into a write buffer (default 4 MiB); full buffers are
 * queued and written in order by one drain loop per pack, so encoding and
 * writing overlap. Nothing is fsync'd until flush(): flush writes the queue,
 * fdatasyncs the pack, fsyncs its directory once, then durably rewrites the
 * pack's pending index (index/pending/<id>.pidx). A pack that reaches its
 * target size is sealed: flushed in the background and closed.
 *
 * Failure rules: a failed write keeps its buffer queued; appends are refused
 * with the (typed) error and flush() retries the writes, so ENOSPC is
 * recoverable once space is freed. A failed fsync is fatal (the kernel may
 * have dropped the dirty pages): the store must be reopened.
 */
import { promises as fsp } from 'node:fs';
import { fsyncDir } from '../util/durable.js';
import { toStoreError } from './errors.js';
import { MAX_PACK_SIZE, MAX_RECORDS_PER_PACK, RECORD_OVERHEAD } from './format.js';
import type { Layout } from './layout.js';
import { Mutex } from './mutex.js';
import { closeFd, fdatasyncFd, openFd } from './pack-io.js';
import { writePendingIndex } from './pending-index.js';
import { encodePackHeader, encodeRecord } from './record.js';
import type { IndexEntry, PackWriteFn } from './types.js';

export interface PackWriterDeps {
  layout: Layout;
  allocPackId(): number;
  write: PackWriteFn;
  bufferSize: number;
  targetSize: number;
  /** A record was appended (readable now, durable after flush). */
  onAppend(e: IndexEntry): void;
  /** A pack is complete, durable, closed, and its pending index is final. */
  onSealed(packId: number, entries: number, bytes: number): void;
  /** An unrecoverable error (failed fsync): the store must stop. */
  onFatal(err: Error): void;
}

interface Segment { pos: number; buf: Buffer }

class OpenPack {
  readonly entries: IndexEntry[] = [];
  buf: Buffer | undefined;
  bufPos: number;
  fill = 0;
  size: number;
  readonly queue: Segment[] = [];
  draining: Promise<void> | undefined;
  durableEntries = 0;
  dirSynced = false;
  sealed = false;
  readonly lock = new Mutex();
  constructor(readonly id: number, readonly fd: number, header: Buffer) {
    this.bufPos = 0;
    this.size = header.length;
    this.queue.push({ pos: 0, buf: header });
    this.bufPos = header.length;
  }
}

export class PackWriter {
  private current: OpenPack | undefined;
  private readonly packs = new Map<number, OpenPack>();
  private writeError: Error | undefined;
  private readonly free: Buffer[] = [];
  private readonly knownDirs = new Set<string>();
  private closed = false;

  constructor(private readonly d: PackWriterDeps) {}

  /** Ids of packs this writer still holds open (current and sealing). */
  openPackIds(): number[] {
    return [...this.packs.keys()];
  }

  get currentPackId(): number | undefined {
    return this.current?.id;
  }

  /** Append one record. Callers serialize calls. */
  async append(hash: Buffer, compression: number, rawSize: number, data: Buffer): Promise<IndexEntry> {
    if (this.closed) throw new Error('pack writer is closed');
    if (this.writeError) await this.retryWrites();
    const len = RECORD_OVERHEAD + data.length;
    let p = this.current;
    if (p && p.entries.length > 0 && this.mustSeal(p, len)) {
      this.seal();
      p = undefined;
    }
    p ??= await this.openPack();
    // tryAppend() hands over when the queue is long: wait here, so at most ~3 buffers stay queued as before.
    if (p.queue.length > 2) {
      await this.drain(p).catch(() => undefined);
      if (this.writeError) throw this.writeError;
    }
    const e = this.appendTo(p, hash, compression, rawSize, data, len);
    if (p.queue.length > 2) await this.drain(p).catch(() => undefined);
    if (this.writeError) throw this.writeError;
    return e;
  }

  /**
   * append() without a promise when none is needed: the current pack takes
   * the record and its write queue is short. Returns undefined (and appends
   * nothing) when append() must be used: no open pack, the pack is full, a
   * failed write is pending, or the queue needs draining first. Chunk
   * batches go through here: a promise (and its microtask hops) per chunk
   * was a visible share of the ingest profile.
   */
  tryAppend(hash: Buffer, compression: number, rawSize: number, data: Buffer): IndexEntry | undefined {
    const p = this.current;
    if (!p || this.closed || this.writeError || p.queue.length > 2) return undefined;
    const len = RECORD_OVERHEAD + data.length;
    if (p.entries.length > 0 && this.mustSeal(p, len)) return undefined;
    return this.appendTo(p, hash, compression, rawSize, data, len);
  }

  private mustSeal(p: OpenPack, len: number): boolean {
    return p.size + len > this.d.targetSize || p.entries.length >= MAX_RECORDS_PER_PACK || p.size + len > MAX_PACK_SIZE;
  }

  /** Encode the record into the pack's write buffer (submitting full buffers) and index it. */
  private appendTo(p: OpenPack, hash: Buffer, compression: number, rawSize: number, data: Buffer, len: number): IndexEntry {
    if (p.buf && p.fill + len > p.buf.length) this.submit(p);
    if (!p.buf) {
      p.buf = len > this.d.bufferSize ? Buffer.allocUnsafe(len) : (this.free.pop() ?? Buffer.allocUnsafe(this.d.bufferSize));
      p.fill = 0;
    }
    encodeRecord(p.buf, p.fill, hash, compression, rawSize, data);
    const e: IndexEntry = { hash: Buffer.from(hash), packId: p.id, offset: p.size, length: len, rawSize };
    p.fill += len;
    p.size += len;
    p.entries.push(e);
    this.d.onAppend(e);
    if (p.fill === p.buf.length) this.submit(p);
    return e;
  }

  /** After a failed write: try the queued writes again (throws if they still fail). */
  private async retryWrites(): Promise<void> {
    for (const p of [...this.packs.values()]) await this.drain(p);
    this.writeError = undefined;
  }

  /** Copy of buffered (not yet written) record bytes, or undefined if they are in the file. */
  /** Whether the record at (packId, offset, length) is still in this writer's buffers (not yet in the file). */
  holds(packId: number, offset: number, length: number): boolean {
    const p = this.packs.get(packId);
    if (!p) return false;
    if (p.buf && offset >= p.bufPos && offset + length <= p.bufPos + p.fill) return true;
    return p.queue.some((s) => offset >= s.pos && offset + length <= s.pos + s.buf.length);
  }

  readBuffered(packId: number, offset: number, length: number): Buffer | undefined {
    const p = this.packs.get(packId);
    if (!p) return undefined;
    if (p.buf && offset >= p.bufPos && offset + length <= p.bufPos + p.fill) {
      return Buffer.from(p.buf.subarray(offset - p.bufPos, offset - p.bufPos + length));
    }
    for (const s of p.queue) {
      if (offset >= s.pos && offset + length <= s.pos + s.buf.length) {
        return Buffer.from(s.buf.subarray(offset - s.pos, offset - s.pos + length));
      }
    }
    return undefined;
  }

  /** Seal the current pack: later appends open a new one; it is flushed and closed in the background. */
  seal(): void {
    const p = this.current;
    if (!p) return;
    p.sealed = true;
    this.current = undefined;
    p.lock.run(() => this.flushPack(p)).catch(() => undefined);
  }

  /** Make every record appended so far durable (packs fsync'd, pending indexes written). */
  async flush(): Promise<void> {
    for (const p of [...this.packs.values()]) await p.lock.run(() => this.flushPack(p));
    this.writeError = undefined;
  }

  /** Close file handles without flushing (unflushed records are dropped, as after a crash). */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.packs.values()) {
      await p.lock.run(() => undefined); // a flush in progress finishes; later ones see `closed`
      await p.draining?.catch(() => undefined);
      await closeFd(p.fd).catch(() => undefined);
    }
    this.packs.clear();
    this.current = undefined;
  }

  private async openPack(): Promise<OpenPack> {
    const id = this.d.allocPackId();
    const dir = this.d.layout.packSubdir(id);
    if (!this.knownDirs.has(dir)) {
      await fsp.mkdir(dir, { recursive: true });
      this.knownDirs.add(dir);
    }
    let fd: number;
    try {
      fd = await openFd(this.d.layout.packFile(id), 'wx', 0o640);
    } catch (err) {
      throw toStoreError(err, this.d.layout.dir, `creating pack ${this.d.layout.packLabel(id)}`);
    }
    const p = new OpenPack(id, fd, encodePackHeader(id));
    this.packs.set(id, p);
    this.current = p;
    return p;
  }

  private submit(p: OpenPack): void {
    if (!p.buf || p.fill === 0) return;
    p.queue.push({ pos: p.bufPos, buf: p.buf.subarray(0, p.fill) });
    p.bufPos += p.fill;
    p.buf = undefined;
    p.fill = 0;
    this.drain(p).catch(() => undefined);
  }

  /**
   * Starts (or joins) the one write loop of a pack. `draining` is cleared in a
   * .finally() callback, which always runs after the assignment below — an
   * async body that finished synchronously (empty queue) would otherwise clear
   * it before it was set and leave a stale resolved promise that never writes
   * again (records indexed but never written: a truncated pack).
   */
  private drain(p: OpenPack): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (!p.draining) {
      const run: Promise<void> = this.drainLoop(p).finally(() => {
        if (p.draining === run) p.draining = undefined;
      });
      p.draining = run;
    }
    return p.draining;
  }

  private async drainLoop(p: OpenPack): Promise<void> {
    while (p.queue.length > 0) {
      const s = p.queue[0]!;
      try {
        await this.d.write(p.fd, s.buf, s.pos);
      } catch (err) {
        this.writeError = toStoreError(err, this.d.layout.dir, `writing pack ${this.d.layout.packLabel(p.id)}`);
        throw this.writeError;
      }
      p.queue.shift();
      if (s.buf.buffer.byteLength === this.d.bufferSize && this.free.length < 2 && s.buf.byteOffset === 0) {
        this.free.push(Buffer.from(s.buf.buffer, 0, this.d.bufferSize));
      }
    }
  }

  private async flushPack(p: OpenPack): Promise<void> {
    if (!this.packs.has(p.id) || this.closed) return;
    this.submit(p);
    const count = p.entries.length;
    const covered = p.bufPos;
    if (count === 0) {
      if (p.sealed) await this.discard(p);
      return;
    }
    await this.drain(p);
    if (count > p.durableEntries) {
      try {
        await fdatasyncFd(p.fd);
        if (!p.dirSynced) {
          await fsyncDir(this.d.layout.packSubdir(p.id));
          await fsyncDir(this.d.layout.packsDir);
          p.dirSynced = true;
        }
      } catch (err) {
        const e = toStoreError(err, this.d.layout.dir, `syncing pack ${this.d.layout.packLabel(p.id)}`);
        this.d.onFatal(e);
        throw e;
      }
      try {
        await writePendingIndex(this.d.layout.pendingFile(p.id), { packId: p.id, coveredBytes: covered, entries: p.entries.slice(0, count) });
      } catch (err) {
        throw toStoreError(err, this.d.layout.dir, `writing the index of pack ${this.d.layout.packLabel(p.id)}`);
      }
      p.durableEntries = count;
    }
    if (p.sealed && p.entries.length === count) {
      this.packs.delete(p.id);
      await closeFd(p.fd).catch(() => undefined);
      this.d.onSealed(p.id, count, covered);
    }
  }

  private async discard(p: OpenPack): Promise<void> {
    this.packs.delete(p.id);
    await p.draining?.catch(() => undefined);
    await closeFd(p.fd).catch(() => undefined);
    await fsp.rm(this.d.layout.packFile(p.id), { force: true });
  }
}
