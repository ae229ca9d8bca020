/**
 * Ref lists: for each recovery point, the sorted, de-duplicated list of every
 * chunk hash it references (refs/<pointId>.refs, a sorted table of 32-byte
 * records). Written once, durably (temp + fsync + rename + dir fsync), before
 * the point is recorded; deleted when the point is pruned. They answer "which
 * of these chunks does this agent already have", form gc's mark set, and drive
 * verification and restores.
 */
import { closeSync, openSync, readSync, promises as fsp } from 'node:fs';
import { fsyncDir } from '../util/durable.js';
import { ChunkInvalidError, errnoCode, InvalidPointIdError, RefListNotFoundError } from './errors.js';
import { HASH_SIZE, REF_LIST_MAGIC } from './format.js';
import type { Layout } from './layout.js';
import { ExternalSorter } from './sort.js';
import { TableReader, TableWriter } from './table.js';

const POINT_ID_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

export function checkPointId(pointId: string): void {
  if (typeof pointId !== 'string' || !POINT_ID_RE.test(pointId)) throw new InvalidPointIdError(String(pointId));
}

/** One recovery point's reference list, open for lookups and iteration. */
export class RefList {
  constructor(readonly pointId: string, private readonly table: TableReader, private readonly storeDir: string) {}

  get count(): number {
    return this.table.count;
  }

  /** Binary search through the fanout: one small positioned read. */
  has(hash: Buffer): boolean {
    return hash.length === HASH_SIZE && this.table.has(hash);
  }

  /** Sorted hashes, each a fresh 32-byte Buffer (synchronous reads). */
  *iterate(): Generator<Buffer> {
    const fd = openSync(this.table.path, 'r');
    try {
      const per = 32768;
      const buf = Buffer.allocUnsafe(per * HASH_SIZE);
      const start = this.table.bytes - this.count * HASH_SIZE;
      for (let i = 0; i < this.count; i += per) {
        const n = Math.min(per, this.count - i);
        readSync(fd, buf, 0, n * HASH_SIZE, start + i * HASH_SIZE);
        for (let j = 0; j < n; j++) yield Buffer.from(buf.subarray(j * HASH_SIZE, (j + 1) * HASH_SIZE));
      }
    } finally {
      closeSync(fd);
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    for await (const batch of this.batches()) {
      for (let at = 0; at < batch.length; at += HASH_SIZE) yield Buffer.from(batch.subarray(at, at + HASH_SIZE));
    }
  }

  /** Sorted hashes as batches of 32-byte records (checksum verified at the end). */
  batches(): AsyncGenerator<Buffer> {
    return this.table.batches(this.storeDir);
  }

  close(): void {
    this.table.close();
  }
}

export class RefLists {
  constructor(private readonly layout: Layout, private readonly fanoutCacheBytes = 1 << 20) {}

  /**
   * Write the ref list of `pointId` from hashes in any order (duplicates
   * allowed). Durable when it resolves; replaces an existing list atomically.
   */
  async write(pointId: string, hashes: Iterable<Buffer> | AsyncIterable<Buffer>): Promise<{ count: number }> {
    checkPointId(pointId);
    const sorter = new ExternalSorter(this.layout.tmpDir, HASH_SIZE);
    try {
      const add = (h: Buffer): Promise<void> | undefined => {
        if (!Buffer.isBuffer(h) || h.length !== HASH_SIZE) {
          throw new ChunkInvalidError(Buffer.isBuffer(h) ? h.toString('hex') : typeof h, `ref list entry must be a ${HASH_SIZE}-byte hash`);
        }
        return sorter.add(h);
      };
      if (Symbol.iterator in hashes) {
        for (const h of hashes) {
          const p = add(h);
          if (p) await p;
        }
      } else {
        for await (const h of hashes) {
          const p = add(h);
          if (p) await p;
        }
      }
      const w = await TableWriter.create(this.layout.refFile(pointId), REF_LIST_MAGIC, HASH_SIZE, sorter.count);
      try {
        for await (const batch of sorter.sorted()) {
          for (let at = 0; at < batch.length; at += HASH_SIZE) {
            const p = w.add(batch, at);
            if (p) await p;
          }
        }
        const { count } = await w.finish();
        return { count };
      } catch (err) {
        await w.abort();
        throw err;
      }
    } finally {
      await sorter.dispose();
    }
  }

  async open(pointId: string): Promise<RefList> {
    checkPointId(pointId);
    try {
      return new RefList(pointId, TableReader.open(this.layout.dir, this.layout.refFile(pointId), REF_LIST_MAGIC, HASH_SIZE, this.fanoutCacheBytes), this.layout.dir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw new RefListNotFoundError(this.layout.dir, pointId);
      throw err;
    }
  }

  async exists(pointId: string): Promise<boolean> {
    checkPointId(pointId);
    return fsp.access(this.layout.refFile(pointId)).then(() => true, () => false);
  }

  /** Durably delete a ref list (missing is fine). */
  async delete(pointId: string): Promise<void> {
    checkPointId(pointId);
    await fsp.rm(this.layout.refFile(pointId), { force: true });
    await fsyncDir(this.layout.refsDir);
  }

  async list(): Promise<string[]> {
    const names = await fsp.readdir(this.layout.refsDir);
    return names.filter((n) => n.endsWith('.refs') && !n.startsWith('.')).map((n) => n.slice(0, -5)).sort();
  }
}
