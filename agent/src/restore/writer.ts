/**
 * Writing restored files: content from a ChunkFeed, metadata through the
 * descriptor, close (and fsync where syncfs is unavailable) in the background (Syncer). Small files are
 * created and written a few at a time in the background (creating many small
 * files is latency-bound); large ones stream chunk group by chunk group.
 * Errors about one entry become warnings (guard); a full disk or I/O errors
 * end the restore.
 */
import { unlink, type FileHandle } from 'node:fs/promises';
import type { Entry } from '@strata/protocol';
import { showPath } from '../util/bytes.js';
import { AgentError, errCode } from '../util/errors.js';
import { Limiter } from '../util/limiter.js';
import type { Warnings } from '../util/warnings.js';
import type { ChunkFeed } from './feed.js';
import { CREATE, IS_ROOT, applyMeta, createFile } from './fsops.js';
import { SmallFileWorker } from './small-worker.js';
import { Syncer } from './syncer.js';
import type { RestoreTuning } from './types.js';

/** File-system errors that end the restore instead of becoming a warning about one entry. */
const FATAL = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 'EMFILE', 'ENFILE']);
const WRITE_GROUP_CHUNKS = 64;
const WRITE_GROUP_BYTES = 4 * 1024 * 1024;
/**
 * Small files handed to the file worker at once. It writes them one after
 * another (small-worker.ts), so a longer queue only holds more file data in
 * memory (up to 1 MiB each, twice while copied for the worker), and the
 * agent's restore peak has little room under its 150 MiB target.
 */
const WORKER_QUEUE = 4;
/** Files up to this size are written in the background. */
const SMALL_FILE = 1024 * 1024;

export class FileWriter {
  /** Non-folder entries restored, and content bytes written. */
  files = 0;
  bytes = 0;
  private readonly syncer: Syncer;
  private readonly writers: Limiter;
  private readonly small: SmallFileWorker | null;

  constructor(
    private readonly overwrite: boolean,
    private readonly warnings: Warnings,
    tuning: RestoreTuning,
    private readonly progress: () => void,
    private readonly fsync: boolean,
  ) {
    this.syncer = new Syncer(tuning.pendingSyncs, fsync);
    this.writers = new Limiter(tuning.fileWorker ? Math.min(WORKER_QUEUE, tuning.filesInFlight) : tuning.filesInFlight);
    this.small = tuning.fileWorker ? new SmallFileWorker(CREATE, IS_ROOT) : null;
  }

  /** Waits for the files being written in the background (before a hard link to them, or a folder's metadata). */
  settle(): Promise<void> {
    return this.writers.drain();
  }

  /** Waits for every write and fsync; throws the first failure. */
  async finish(): Promise<void> {
    let failure: unknown = null;
    await this.writers.drain().catch((e) => { failure ??= e; });
    await this.syncer.drain().catch((e) => { failure ??= e; });
    await this.small?.close();
    if (failure) throw failure;
  }

  /**
   * Writes one file from `feed`, taking exactly its chunks from it whatever
   * happens to the file. A small file's chunks are taken at once and the file
   * is created and written in the background (a few at a time: creating many
   * small files is latency-bound); `wait` waits for it and gives the outcome.
   */
  async file(c: Entry, dest: Buffer, feed: ChunkFeed, wait = false): Promise<boolean> {
    const n = c.chunks.length;
    if (c.size <= SMALL_FILE && n <= WRITE_GROUP_CHUNKS) {
      const bufs: Buffer[] = [];
      for (let k = 0; k < n; k++) {
        const b = feed.take();
        bufs.push(b instanceof Promise ? await b : b);
      }
      if (wait) return this.writeSmall(c, dest, bufs);
      await this.writers.spawn(() => this.writeSmall(c, dest, bufs));
      return true;
    }
    const fh = await this.guard(dest, () => createFile(dest, this.overwrite, this.warnings.add));
    if (!fh) {
      feed.skip(n);
      return false;
    }
    let failed: unknown = null;
    let written = 0; // file offset reached (holes included)
    let holes = false;
    try {
      let group: Buffer[] = [];
      let groupBytes = 0;
      const flush = async () => {
        if (groupBytes === 0) return;
        try {
          await writeAll(fh, group, groupBytes, written);
          written += groupBytes;
          this.bytes += groupBytes;
          this.progress();
        } catch (e) {
          failed = e;
        }
        group = [];
        groupBytes = 0;
      };
      for (let k = 0; k < n; k++) {
        const t = feed.take();
        const b = t instanceof Promise ? await t : t;
        if (failed) continue;
        if (isZeroRun(b)) {
          // A chunk of zeros (disk images, sparse files) becomes a hole: the new file reads zeros there.
          await flush();
          if (failed) continue;
          written += b.length;
          this.bytes += b.length;
          holes = true;
          continue;
        }
        group.push(b);
        groupBytes += b.length;
        if (group.length >= WRITE_GROUP_CHUNKS || groupBytes >= WRITE_GROUP_BYTES) await flush();
      }
      await flush();
      // A trailing hole: extend the file to its size.
      if (!failed && holes) await fh.truncate(written).catch((e) => { failed = e; });
      if (!failed) await applyMeta(fh, c, dest, this.warnings.add).catch((e) => { failed = e; });
    } catch (e) {
      // A corrupt chunk or a cancel: the restore ends; the partial file does not stay behind.
      await fh.close().catch(() => {});
      await unlink(dest).catch(() => {});
      throw e;
    }
    return this.done(c, dest, fh, written, failed);
  }

  private async writeSmall(c: Entry, dest: Buffer, bufs: Buffer[]): Promise<boolean> {
    if (this.small) {
      let total = 0;
      for (const b of bufs) total += b.length;
      const r = await this.small.write(dest, bufs, total, c, this.fsync);
      if (r.ok) {
        for (const w of r.warnings) this.warnings.add(`${showPath(dest)}: ${w}`);
        if (r.syncErr) throw new AgentError('TARGET_INVALID', `${showPath(dest)} could not be made durable: ${r.syncErr.message}`, { cause: r.syncErr });
        this.bytes += r.written;
        if (r.written !== c.size) this.warnings.add(`${showPath(dest)}: restored ${r.written} bytes, the point records ${c.size}`);
        this.files++;
        this.progress();
        return true;
      }
      if (!r.exists) {
        await this.guard(dest, () => Promise.reject(r.err));
        return false;
      }
      // Something is in the way: the careful path below decides (overwrite or warn).
    }
    const fh = await this.guard(dest, () => createFile(dest, this.overwrite, this.warnings.add));
    if (!fh) return false;
    let total = 0;
    for (const b of bufs) total += b.length;
    let failed: unknown = null;
    try {
      if (total > 0) await writeAll(fh, bufs, total, 0);
      this.bytes += total;
      await applyMeta(fh, c, dest, this.warnings.add);
    } catch (e) {
      failed = e;
    }
    return this.done(c, dest, fh, total, failed);
  }

  private async done(c: Entry, dest: Buffer, fh: FileHandle, written: number, failed: unknown): Promise<boolean> {
    if (failed) {
      await fh.close().catch(() => {});
      await this.guard(dest, () => Promise.reject(failed));
      return false;
    }
    if (written !== c.size) this.warnings.add(`${showPath(dest)}: restored ${written} bytes, the point records ${c.size}`);
    await this.syncer.add(fh, dest);
    this.files++;
    this.progress();
    return true;
  }

  /** Runs one file-system step for `dest`; an error about this entry alone becomes a warning (and null). */
  async guard<T>(dest: Buffer, fn: () => Promise<T>): Promise<T | null> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof AgentError) throw e;
      const code = errCode(e);
      if (code && FATAL.has(code)) throw new AgentError('TARGET_INVALID', `restore stopped at ${showPath(dest)}: ${(e as Error).message}`, { cause: e });
      this.warnings.add(`${showPath(dest)}: not restored (${code ?? (e as Error).message})`);
      return null;
    }
  }
}

/** Writes bufs at file offset `pos`; a short write is finished byte-exactly with plain writes. */
async function writeAll(fh: FileHandle, bufs: Buffer[], total: number, pos: number): Promise<void> {
  const { bytesWritten } = await fh.writev(bufs, pos);
  if (bytesWritten === total) return;
  const rest = Buffer.concat(bufs, total).subarray(bytesWritten);
  for (let off = 0; off < rest.length;) off += (await fh.write(rest, off, rest.length - off, pos + bytesWritten + off)).bytesWritten;
}

/** Zero chunks smaller than a file-system block are written (a hole would save nothing). */
const HOLE_MIN = 4096;
const ZEROS = Buffer.alloc(1024 * 1024);

function isZeroRun(b: Buffer): boolean {
  if (b.length < HOLE_MIN || b.length > ZEROS.length || b[0] !== 0 || b[b.length - 1] !== 0) return false;
  return b.equals(ZEROS.subarray(0, b.length));
}
