/**
 * Paths inside a chunk store directory (docs/storage-format.md §Layout).
 *
 *   FORMAT                      store identity and version (JSON)
 *   LOCK                        pid of the process that has the store open
 *   packs/<xxxxx>/<id>.pack     pack files; <id> is 8 hex digits, <xxxxx> its first 5
 *   index/MANIFEST.json         current index runs, pack table, tombstones
 *   index/run-<n>.idx           sorted index runs
 *   index/run-<n>.bloom         bloom filter of that run
 *   index/pending/<id>.pidx     index of one pack not yet merged into a run
 *   refs/<pointId>.refs         sorted chunk reference list of one recovery point
 *   tmp/                        scratch files (sort spills); emptied at open
 */
import * as path from 'node:path';

export const PACK_ID_RE = /^([0-9a-f]{8})\.pack$/;
export const PIDX_RE = /^([0-9a-f]{8})\.pidx$/;
export const RUN_RE = /^run-([0-9a-f]{8})\.(idx|bloom)$/;

export function packName(id: number): string {
  return `${id.toString(16).padStart(8, '0')}.pack`;
}

export class Layout {
  constructor(readonly dir: string) {}
  get formatFile(): string { return path.join(this.dir, 'FORMAT'); }
  get lockFile(): string { return path.join(this.dir, 'LOCK'); }
  get packsDir(): string { return path.join(this.dir, 'packs'); }
  get indexDir(): string { return path.join(this.dir, 'index'); }
  get pendingDir(): string { return path.join(this.dir, 'index', 'pending'); }
  get manifestFile(): string { return path.join(this.dir, 'index', 'MANIFEST.json'); }
  get refsDir(): string { return path.join(this.dir, 'refs'); }
  get tmpDir(): string { return path.join(this.dir, 'tmp'); }

  packSubdir(id: number): string {
    return path.join(this.packsDir, id.toString(16).padStart(8, '0').slice(0, 5));
  }
  packFile(id: number): string {
    return path.join(this.packSubdir(id), packName(id));
  }
  /** Short name used in messages: "packs/00000/00000001.pack". */
  packLabel(id: number): string {
    return path.relative(this.dir, this.packFile(id));
  }
  pendingFile(id: number): string {
    return path.join(this.pendingDir, `${id.toString(16).padStart(8, '0')}.pidx`);
  }
  runFile(n: number): string {
    return path.join(this.indexDir, `run-${n.toString(16).padStart(8, '0')}.idx`);
  }
  bloomFile(n: number): string {
    return path.join(this.indexDir, `run-${n.toString(16).padStart(8, '0')}.bloom`);
  }
  refFile(pointId: string): string {
    return path.join(this.refsDir, `${pointId}.refs`);
  }
}
