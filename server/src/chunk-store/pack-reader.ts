/**
 * Reading pack files: a small cache of open file descriptors (LRU, with
 * reference counts so a descriptor is never closed under a read), positioned
 * reads of single records, and sequential scans that rebuild a pack's index
 * entries from its self-describing records (stopping at a torn tail).
 */
import { MAX_CHUNK_SIZE, PACK_HEADER_SIZE, RECORD_HEADER_SIZE } from './format.js';
import type { Layout } from './layout.js';
import { closeFd, fstatFd, openFd, readFully } from './pack-io.js';
import { checkPackHeader, decodeRecord, peekRecordHeader } from './record.js';
import type { IndexEntry } from './types.js';

interface Handle { fd: number; refs: number; doomed: boolean }

export class PackFiles {
  private readonly open = new Map<number, Handle>();
  private readonly opening = new Map<number, Promise<Handle>>();

  constructor(private readonly layout: Layout, private readonly maxOpen: number) {}

  private async acquire(packId: number): Promise<Handle> {
    let h = this.open.get(packId);
    if (h) {
      this.open.delete(packId);
      this.open.set(packId, h);
    } else {
      let p = this.opening.get(packId);
      if (!p) {
        p = openFd(this.layout.packFile(packId), 'r').then((fd) => {
          const nh: Handle = { fd, refs: 0, doomed: false };
          this.open.set(packId, nh);
          return nh;
        });
        this.opening.set(packId, p);
        p.finally(() => this.opening.delete(packId)).catch(() => undefined);
      }
      h = await p;
    }
    h.refs++;
    return h;
  }

  private release(h: Handle): void {
    h.refs--;
    if (h.doomed && h.refs === 0) closeFd(h.fd).catch(() => undefined);
    if (this.open.size > this.maxOpen) {
      for (const [id, x] of this.open) {
        if (this.open.size <= this.maxOpen) break;
        if (x.refs === 0) {
          this.open.delete(id);
          closeFd(x.fd).catch(() => undefined);
        }
      }
    }
  }

  /** Read `length` bytes at `offset`; the result is shorter if the file ends first. Rejects with ENOENT if the pack is gone. */
  async read(packId: number, offset: number, length: number): Promise<Buffer> {
    const h = await this.acquire(packId);
    try {
      const buf = Buffer.allocUnsafe(length);
      const n = await readFully(h.fd, buf, offset);
      return n === length ? buf : buf.subarray(0, n);
    } finally {
      this.release(h);
    }
  }

  async size(packId: number): Promise<number> {
    const h = await this.acquire(packId);
    try {
      return (await fstatFd(h.fd)).size;
    } finally {
      this.release(h);
    }
  }

  /** Forget a pack (deleted by gc): its descriptor closes once no read uses it. */
  evict(packId: number): void {
    const h = this.open.get(packId);
    if (!h) return;
    this.open.delete(packId);
    h.doomed = true;
    if (h.refs === 0) closeFd(h.fd).catch(() => undefined);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.opening.values()]);
    for (const id of [...this.open.keys()]) this.evict(id);
  }
}

export interface PackScan {
  entries: IndexEntry[];
  /** Bytes of the pack holding whole, checksummed records (header included). */
  validBytes: number;
  fileBytes: number;
  /** Why the scan stopped before the end of the file, if it did. */
  stoppedBy?: string;
}

/**
 * Parse every record of a pack sequentially (4 MiB reads), checking each
 * record's crc. Stops at the first record that is torn or damaged: what
 * follows is treated as an unreferenced tail.
 */
export async function scanPack(layout: Layout, packId: number): Promise<PackScan> {
  const fd = await openFd(layout.packFile(packId), 'r');
  try {
    const fileBytes = (await fstatFd(fd)).size;
    const head = Buffer.allocUnsafe(PACK_HEADER_SIZE);
    await readFully(fd, head, 0);
    const bad = checkPackHeader(head.subarray(0, Math.min(fileBytes, PACK_HEADER_SIZE)), packId);
    if (bad) return { entries: [], validBytes: 0, fileBytes, stoppedBy: bad };
    const entries: IndexEntry[] = [];
    let pos = PACK_HEADER_SIZE;
    let buf = Buffer.allocUnsafe(4 << 20);
    let bufPos = pos;
    let len = 0;
    for (;;) {
      if (pos >= fileBytes) return { entries, validBytes: pos, fileBytes };
      let at = pos - bufPos;
      let h = peekRecordHeader(buf.subarray(0, len), at);
      if (h && h.storedSize > MAX_CHUNK_SIZE) return { entries, validBytes: pos, fileBytes, stoppedBy: `bad record size at offset ${pos}` };
      if (!h || at + h.length > len) {
        const need = Math.max(4 << 20, h?.length ?? RECORD_HEADER_SIZE);
        if (buf.length < need) buf = Buffer.allocUnsafe(need);
        len = await readFully(fd, buf.subarray(0, need), pos);
        bufPos = pos;
        at = 0;
        h = peekRecordHeader(buf.subarray(0, len), 0);
        if (h && h.storedSize > MAX_CHUNK_SIZE) return { entries, validBytes: pos, fileBytes, stoppedBy: `bad record size at offset ${pos}` };
        if (h && h.length > len) {
          if (buf.length < h.length) buf = Buffer.allocUnsafe(h.length);
          len = await readFully(fd, buf.subarray(0, h.length), pos);
        }
      }
      const rec = decodeRecord(buf.subarray(0, len), at);
      if (typeof rec === 'string') return { entries, validBytes: pos, fileBytes, stoppedBy: `${rec} at offset ${pos}` };
      entries.push({ hash: Buffer.from(rec.hash), packId, offset: pos, length: rec.length, rawSize: rec.rawSize });
      pos += rec.length;
    }
  } finally {
    await closeFd(fd);
  }
}
