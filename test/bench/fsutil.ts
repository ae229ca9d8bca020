/** Small file helpers for the dataset generator and the change maker. */
import { open, rename } from 'node:fs/promises';

export const MiB = 1 << 20;
const BLOCK = 4 * MiB;

/**
 * Writes a file of `size` bytes; `fill(buf)` fills (a prefix of) `buf` with the
 * next bytes and returns how many. Two reused buffers: one is filled while the
 * other is being written.
 */
export async function writeGenerated(path: string, size: number, fill: (buf: Buffer) => number): Promise<void> {
  const bufs = [Buffer.allocUnsafe(BLOCK), Buffer.allocUnsafe(BLOCK)];
  const fh = await open(path, 'w');
  let pending: Promise<unknown> = Promise.resolve();
  try {
    for (let done = 0, k = 0; done < size; k ^= 1) {
      const buf = bufs[k]!;
      const n = fill(buf.subarray(0, Math.min(BLOCK, size - done)));
      await pending;
      pending = fh.write(buf, 0, n);
      done += n;
    }
    await pending;
  } finally {
    await pending.catch(() => undefined);
    await fh.close();
  }
}

export interface Insert {
  /** Offset in the source file before which `data` goes. */
  offset: number;
  data: Buffer;
}

/** Writes `dst` as a copy of `src` with `inserts` spliced in (offsets in src terms). */
export async function copyWithInserts(src: string, dst: string, inserts: readonly Insert[]): Promise<void> {
  const sorted = [...inserts].sort((a, b) => a.offset - b.offset);
  const inp = await open(src, 'r');
  const out = await open(dst, 'w');
  try {
    const size = (await inp.stat()).size;
    const buf = Buffer.allocUnsafe(BLOCK);
    let pos = 0;
    for (const cut of [...sorted, { offset: size, data: Buffer.alloc(0) }]) {
      while (pos < cut.offset) {
        const { bytesRead } = await inp.read(buf, 0, Math.min(BLOCK, cut.offset - pos), pos);
        if (bytesRead === 0) throw new Error(`${src}: unexpected end of file at ${pos}`);
        await out.write(buf, 0, bytesRead);
        pos += bytesRead;
      }
      if (cut.data.length) await out.write(cut.data);
    }
  } finally {
    await inp.close();
    await out.close();
  }
}

/** Splices `data` into `path` at `offset` (rewrites the file and renames it into place). */
export async function insertInto(path: string, offset: number, data: Buffer): Promise<void> {
  const tmp = `${path}.insert-tmp`;
  await copyWithInserts(path, tmp, [{ offset, data }]);
  await rename(tmp, path);
}

/** Overwrites `data.length` bytes at `offset`; returns how many bytes actually differ. */
export async function overwrite(path: string, offset: number, data: Buffer): Promise<number> {
  const fh = await open(path, 'r+');
  try {
    const old = Buffer.alloc(data.length);
    await fh.read(old, 0, data.length, offset);
    let differ = 0;
    for (let i = 0; i < data.length; i++) if (old[i] !== data[i]) differ++;
    await fh.write(data, 0, data.length, offset);
    return differ;
  } finally {
    await fh.close();
  }
}
