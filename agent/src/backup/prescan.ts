/**
 * The first backup's pre-scan: a metadata-only walk (readdir + lstat, same
 * filter as the backup) that counts files and bytes for the progress ETA. It
 * runs beside the backup and is cancelled when the backup ends.
 */
import { lstat, readdir } from 'node:fs/promises';
import { joinPath } from '../util/bytes.js';
import type { PathFilter } from './filter.js';

export interface Totals { files: number; bytes: number }

export async function prescan(abs: Buffer, filter: PathFilter, signal: AbortSignal): Promise<Totals> {
  const t: Totals = { files: 0, bytes: 0 };
  await scanDir(abs, [], !filter.hasIncludes, filter, signal, t);
  return t;
}

async function scanDir(abs: Buffer, rel: string[], all: boolean, filter: PathFilter, signal: AbortSignal, t: Totals): Promise<void> {
  let names: Buffer[];
  try {
    names = await readdir(abs, { encoding: 'buffer' });
  } catch {
    return;
  }
  for (const name of names) {
    if (signal.aborted) return;
    const childRel = [...rel, name.toString('utf8')];
    if (filter.excluded(childRel)) continue;
    const child = joinPath(abs, name);
    let st;
    try {
      st = await lstat(child);
    } catch {
      continue;
    }
    if (st.isDirectory()) {
      const childAll = all || filter.included(childRel);
      if (childAll || filter.mayIncludeBelow(childRel)) await scanDir(child, childRel, childAll, filter, signal, t);
    } else if (all || filter.included(childRel)) {
      t.files++;
      if (st.isFile()) t.bytes += st.size;
    }
  }
}
