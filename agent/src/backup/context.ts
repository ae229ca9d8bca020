/** State shared by one backup run's walker, file reader and progress reporting. */
import { showPath } from '../util/bytes.js';
import type { Warnings } from '../util/warnings.js';
import type { Limiter } from '../util/limiter.js';
import type { BlockPool } from '../util/pool.js';
import type { NativeHasher } from '../chunker/native.js';
import type { FileWorker } from './file-worker.js';
import type { ChunkUploader } from './uploader.js';
import type { TreeCache } from './cache.js';
import type { BackupCounters, BackupTuning } from './types.js';

export interface RunContext {
  tuning: Omit<BackupTuning, 'compressor' | 'pool'>;
  /** Files whose ctime is this recent when read are stored with ctime 0, so the next backup reads them again. */
  racyWindowMs: number;
  uploader: ChunkUploader;
  /** Where file data is read into (every chunk of a file is a view into one of its blocks, or a copy). */
  pool: BlockPool;
  /** lstat, small-file reads and chunking/hashing in a worker thread (file-worker.ts); null: all on this thread. */
  worker: FileWorker | null;
  /** Chunking and hashing in C on libuv's thread pool (chunker/native.ts); null: the addon is off or did not load. */
  native: NativeHasher | null;
  cache: TreeCache;
  warnings: Warnings;
  signal: AbortSignal | undefined;
  /** Files being read at once. */
  fileSlots: Limiter;
  /** First name (point path) of each multiply-linked file seen, by "dev:ino". */
  links: Map<string, Buffer>;
  counters: BackupCounters;
  onProgress: ((c: BackupCounters) => void) | undefined;
  files: number;
  dirs: number;
  bytes: number;
}

export function report(ctx: RunContext, path?: Buffer): void {
  if (path) ctx.counters.currentPath = showPath(path);
  if (!ctx.onProgress) return;
  ctx.counters.bytesSent = ctx.uploader.bytesSent;
  ctx.onProgress({ ...ctx.counters });
}
