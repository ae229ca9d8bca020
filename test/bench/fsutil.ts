/** Small file helpers for the dataset generator and the change maker. */
import { open, rename } from 'node:fs/promises';

export const MiB = 1 << 20;
const BLOCK = 8 * MiB;

/** Writes a file of `size` bytes, asking `chunk(n)` for each next n bytes. */
export async function writeGenerated(path: string, size: number, chunk: (n: number) => Buffer): Promise<void> {
  const fh = await open(path, 'w');
  try {
    for (let done = 0; done < size; ) {
      const buf = chunk(Math.min(BLOCK, size - done));
      await fh.write(buf, 0, buf.length);
      done += buf.length;
    }
  } finally {
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
