/**
 * The "1% change" applied between the unchanged re-run and the incremental
 * backup: scattered 4–64 KiB overwrites inside the large files, one insertion
 * in a large file, a few new and a few deleted small files. Seeded like the
 * dataset. `changedBytes` counts exactly the bytes a perfect incremental
 * backup would have to carry: overwritten bytes that really differ + inserted
 * bytes + bytes of new files (deleted files need no data).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dataset } from './dataset.js';
import { insertInto, overwrite } from './fsutil.js';
import { ByteStream, Rng } from './rng.js';
import { textBytes } from './text.js';

export interface ChangeReport {
  targetBytes: number;
  overwrites: number;
  overwrittenBytes: number;
  overwriteDiffBytes: number;
  insertedBytes: number;
  insertedInto: string;
  newFiles: number;
  newFileBytes: number;
  deletedFiles: number;
  deletedBytes: number;
  changedBytes: number;
}

const KiB = 1024;
const SMALL_FILES = 12;

export async function applyChange(ds: Dataset, fraction = 0.01): Promise<ChangeReport> {
  const rng = new Rng(ds.seed, 'change');
  const stream = new ByteStream(ds.seed, 'change');
  const large = ds.files.filter((f) => f.kind !== 'text');
  const small = ds.files.filter((f) => f.kind === 'text');
  const r: ChangeReport = {
    targetBytes: Math.floor(ds.bytes * fraction), overwrites: 0, overwrittenBytes: 0, overwriteDiffBytes: 0,
    insertedBytes: Math.min(128 * KiB, Math.floor(ds.bytes * fraction / 8)), insertedInto: '',
    newFiles: 0, newFileBytes: 0, deletedFiles: 0, deletedBytes: 0, changedBytes: 0,
  };
  const newSizes = Array.from({ length: SMALL_FILES }, () => rng.logInt(KiB, 32 * KiB));
  const budget = r.targetBytes - r.insertedBytes - newSizes.reduce((a, b) => a + b, 0);

  const taken = new Map<string, Array<[number, number]>>();
  const totalLarge = large.reduce((a, f) => a + f.size, 0);
  while (r.overwrittenBytes < budget) {
    let x = rng.float() * totalLarge;
    const file = large.find((f) => (x -= f.size) < 0) ?? large[large.length - 1]!;
    const len = Math.max(4 * KiB, Math.min(rng.int(4 * KiB, 64 * KiB), budget - r.overwrittenBytes));
    const at = rng.int(0, file.size - len);
    const spans = taken.get(file.rel) ?? [];
    if (spans.some(([a, b]) => at < b && a < at + len)) continue;
    taken.set(file.rel, [...spans, [at, at + len]]);
    r.overwriteDiffBytes += await overwrite(join(ds.root, file.rel), at, stream.next(len));
    r.overwrittenBytes += len;
    r.overwrites++;
  }

  const target = rng.pick(large);
  await insertInto(join(ds.root, target.rel), rng.int(0, target.size), stream.next(r.insertedBytes));
  target.size += r.insertedBytes;
  r.insertedInto = target.rel;

  await mkdir(join(ds.root, 'text/new'), { recursive: true });
  for (const [i, n] of newSizes.entries()) {
    const rel = i % 2 ? `text/new/added-${i}.txt` : `${rng.pick(small).rel.replace(/[^/]+$/, '')}added-${i}.txt`;
    await writeFile(join(ds.root, rel), textBytes(stream, n));
    ds.files.push({ rel, size: n, kind: 'text' });
    r.newFiles++;
    r.newFileBytes += n;
  }
  for (let i = 0; i < SMALL_FILES; i++) {
    const idx = rng.int(0, small.length - 1);
    const [gone] = small.splice(idx, 1);
    await rm(join(ds.root, gone!.rel));
    ds.files = ds.files.filter((f) => f !== gone);
    r.deletedFiles++;
    r.deletedBytes += gone!.size;
  }
  ds.bytes = ds.files.reduce((a, f) => a + f.size, 0);
  r.changedBytes = r.overwriteDiffBytes + r.insertedBytes + r.newFileBytes;
  return r;
}
