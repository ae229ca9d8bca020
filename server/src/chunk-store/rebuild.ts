/**
 * Rebuild the whole index from the packs alone: scan every pack's
 * self-describing records (stopping at a torn or damaged tail), sort the
 * entries (spilling to tmp/ when large) and replace the index with one run.
 * The caller holds the maintenance and put locks and has flushed all packs.
 */
import { encodeEntries } from './entry.js';
import { INDEX_ENTRY_SIZE } from './format.js';
import type { ChunkIndex } from './chunk-index.js';
import { listPackFiles } from './gc.js';
import type { Layout } from './layout.js';
import type { PackInfo } from './manifest.js';
import { scanPack } from './pack-reader.js';
import { ExternalSorter } from './sort.js';

export interface RebuildResult {
  packs: number;
  chunks: number;
  /** Packs whose scan stopped early (torn tail or damage), with the reason. */
  tornPacks: Array<{ pack: string; reason: string }>;
}

export async function rebuildFromPacks(layout: Layout, index: ChunkIndex): Promise<RebuildResult> {
  const sorter = new ExternalSorter(layout.tmpDir, INDEX_ENTRY_SIZE);
  try {
    const packs = new Map<number, PackInfo>();
    const tornPacks: RebuildResult['tornPacks'] = [];
    for (const id of await listPackFiles(layout)) {
      index.notePackId(id);
      const scan = await scanPack(layout, id);
      if (scan.stoppedBy) tornPacks.push({ pack: layout.packLabel(id), reason: scan.stoppedBy });
      if (scan.entries.length === 0) continue;
      packs.set(id, { chunks: scan.entries.length, bytes: scan.validBytes });
      const enc = encodeEntries(scan.entries);
      for (let at = 0; at < enc.length; at += INDEX_ENTRY_SIZE) {
        const p = sorter.add(enc, at);
        if (p) await p;
      }
    }
    const chunks = await index.rebuildFrom([sorter.sorted()], sorter.count, packs);
    return { packs: packs.size, chunks, tornPacks };
  } finally {
    await sorter.dispose();
  }
}
