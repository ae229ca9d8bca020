/**
 * The first backup's pre-scan: a metadata-only walk (readdir + lstat, same
 * filter as the backup) that counts files and bytes for the progress ETA. It
 * runs beside the backup and is cancelled when the backup ends. Each folder's
 * entries are lstat'ed in one batch (lstat-batch.ts) where it can.
 */
import { lstat, readdir } from 'node:fs/promises';
import { joinPath } from '../util/bytes.js';
import type { FileWorker, StatResult } from './file-worker.js';
import type { PathFilter } from './filter.js';
import { batchLstat, type LstatMany } from './lstat-batch.js';

const oneByOne: LstatMany = async (paths) => {
  const out: StatResult[] = [];
  for (const p of paths) out.push(await lstat(p, { bigint: true }).then((st) => ({ ok: true as const, st }), (err: unknown) => ({ ok: false as const, err })));
  return out;
};

export interface Totals { files: number; bytes: number }

export async function prescan(abs: Buffer, filter: PathFilter, signal: AbortSignal, worker?: FileWorker | null): Promise<Totals> {
  const t: Totals = { files: 0, bytes: 0 };
  await scanDir(abs, [], !filter.hasIncludes, filter, signal, t, batchLstat(worker) ?? oneByOne);
  return t;
}

async function scanDir(abs: Buffer, rel: string[], all: boolean, filter: PathFilter, signal: AbortSignal, t: Totals, lstatMany: LstatMany): Promise<void> {
  let names: Buffer[];
  try {
    names = await readdir(abs, { encoding: 'buffer' });
  } catch {
    return;
  }
  const kept: { rel: string[]; path: Buffer }[] = [];
  for (const name of names) {
    const childRel = [...rel, name.toString('utf8')];
    if (!filter.excluded(childRel)) kept.push({ rel: childRel, path: joinPath(abs, name) });
  }
  if (signal.aborted || kept.length === 0) return;
  const stats = await lstatMany(kept.map((k) => k.path)).catch(() => null);
  if (!stats) return;
  for (let i = 0; i < kept.length; i++) {
    if (signal.aborted) return;
    const r = stats[i]!;
    if (!r.ok) continue;
    const { rel: childRel, path: child } = kept[i]!;
    if (r.st.isDirectory()) {
      const childAll = all || filter.included(childRel);
      if (childAll || filter.mayIncludeBelow(childRel)) await scanDir(child, childRel, childAll, filter, signal, t, lstatMany);
    } else if (all || filter.included(childRel)) {
      t.files++;
      if (r.st.isFile()) t.bytes += Number(r.st.size);
    }
  }
}
