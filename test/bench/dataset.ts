/**
 * The seeded benchmark dataset. `generateDataset(root, size, seed)` writes, for
 * a target size S (same seed and size → same bytes):
 *   text/     ~10% of S as many small text files (256 B – 48 KiB, log-uniform)
 *   large/    ~45% as 4 incompressible files (random-N.bin)
 *             + near-duplicates of random-0 and random-1 (random-N.v2.bin:
 *               a few insertions and ~0.5% scattered overwrites)
 *   images/   the rest as disk.img: zero runs, random extents and text extents,
 *             4 KiB aligned, like a mostly-empty VM disk
 * The 1% change is in change.ts.
 */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { copyWithInserts, MiB, overwrite, writeGenerated, type Insert } from './fsutil.js';
import { ByteStream, Rng } from './rng.js';
import { textBytes } from './text.js';

export type FileKind = 'text' | 'random' | 'near-dup' | 'image';
export interface DataFile { rel: string; size: number; kind: FileKind }
export interface Dataset { root: string; seed: string; files: DataFile[]; bytes: number }

const KiB = 1024;
const align = (n: number): number => Math.floor(n / (4 * KiB)) * 4 * KiB;

export async function generateDataset(root: string, size: number, seed: string): Promise<Dataset> {
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  const ds: Dataset = { root, seed, files: [], bytes: 0 };
  const rng = new Rng(seed, 'layout');
  await textFiles(ds, Math.floor(size * 0.1));
  const weights = [0, 1, 2, 3].map(() => 0.7 + 0.6 * rng.float());
  const wsum = weights.reduce((a, b) => a + b, 0);
  await mkdir(join(root, 'large'));
  for (const [i, w] of weights.entries()) {
    const stream = new ByteStream(seed, `random-${i}`);
    await add(ds, `large/random-${i}.bin`, 'random', (p) => writeGenerated(p, align((size * 0.45 * w) / wsum), (b) => stream.fill(b).length));
  }
  for (const i of [0, 1]) await add(ds, `large/random-${i}.v2.bin`, 'near-dup', (p) => nearDuplicate(join(root, `large/random-${i}.bin`), p, new ByteStream(seed, `near-dup-${i}`), rng));
  await mkdir(join(root, 'images'));
  await add(ds, 'images/disk.img', 'image', (p) => diskImage(p, align(Math.max(0, size - ds.bytes)), seed, rng));
  return ds;
}

async function add(ds: Dataset, rel: string, kind: FileKind, write: (path: string) => Promise<void>): Promise<void> {
  const path = join(ds.root, rel);
  await write(path);
  const { size } = await stat(path);
  ds.files.push({ rel, size, kind });
  ds.bytes += size;
}

async function textFiles(ds: Dataset, budget: number): Promise<void> {
  const rng = new Rng(ds.seed, 'text-sizes');
  const stream = new ByteStream(ds.seed, 'text');
  const exts = ['txt', 'ts', 'log', 'md'];
  let batch: Promise<void>[] = [];
  for (let i = 0, total = 0; total < budget; i++) {
    const n = Math.min(rng.logInt(256, 48 * KiB), budget - total);
    const rel = `text/p${Math.floor(i / 1000)}/d${Math.floor(i / 100) % 10}/file-${i}.${exts[i % 4]}`;
    if (i % 100 === 0) await mkdir(join(ds.root, dirname(rel)), { recursive: true });
    batch.push(writeFile(join(ds.root, rel), textBytes(stream, n)));
    ds.files.push({ rel, size: n, kind: 'text' });
    ds.bytes += n;
    total += n;
    if (batch.length >= 64) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);
}

/** A copy of `src` with 3 insertions of 1–64 KiB and ~0.5% overwritten in 4–64 KiB regions. */
async function nearDuplicate(src: string, dst: string, stream: ByteStream, rng: Rng): Promise<void> {
  const { size } = await stat(src);
  const inserts: Insert[] = [0, 1, 2].map(() => ({ offset: rng.int(0, size), data: stream.next(rng.int(KiB, 64 * KiB)) }));
  await copyWithInserts(src, dst, inserts);
  for (let done = 0; done < size * 0.005; ) {
    const len = rng.int(4 * KiB, 64 * KiB);
    await overwrite(dst, rng.int(0, size - len), stream.next(len));
    done += len;
  }
}

/** Zero runs (~45% of extents), random extents and text extents, 4 KiB aligned. */
async function diskImage(path: string, size: number, seed: string, rng: Rng): Promise<void> {
  const stream = new ByteStream(seed, 'disk-image');
  let extent: { left: number; kind: number } = { left: 0, kind: 0 };
  await writeGenerated(path, size, (buf) => {
    if (extent.left === 0) {
      const r = rng.float();
      const kind = r < 0.45 ? 0 : r < 0.85 ? 1 : 2;
      const len = kind === 0 ? rng.logInt(64 * KiB, 32 * MiB) : kind === 1 ? rng.logInt(64 * KiB, 8 * MiB) : rng.logInt(16 * KiB, 2 * MiB);
      extent = { left: Math.max(4 * KiB, align(len)), kind };
    }
    const take = Math.min(buf.length, extent.left);
    extent.left -= take;
    if (extent.kind === 0) buf.fill(0, 0, take);
    else if (extent.kind === 1) stream.fill(buf.subarray(0, take));
    else textBytes(stream, take).copy(buf);
    return take;
  });
}
