/** The restore path's contracts with the lead's network code and the daemon. */
import { MAX_BATCH_ITEMS, type Chunk } from '@strata/protocol';
import { coreutilsSyncFs, type SyncFs } from './durable.js';

export interface RestoreDownlink {
  /**
   * Fetches chunks of the point being restored, in request order (at most
   * MAX_BATCH_ITEMS = 4096 per call), as stored (maybe zstd-compressed). The
   * restorer verifies every chunk against its hash. Called with a bounded
   * number of calls in flight (tree fetches beside data prefetch).
   */
  fetch(hashes: Buffer[]): Promise<Chunk[]>;
}

export interface RestoreProgress {
  bytesRestored: number;
  filesRestored: number;
  /** Logical bytes selected for restore as far as known (grows while selected paths are reached); 0 = unknown. */
  bytesTotal: number;
  currentPath: string;
}

export interface RestoreOptions {
  /** Chunk hashes of the point's root Tree. */
  root: Buffer[];
  /** Absolute folder to restore into; '' (or '/') = the original locations. */
  target: string;
  /** Absolute original paths to restore (each with everything below it); empty = everything. */
  paths: string[];
  /** Replace existing files, links and in-the-way symlinks (never a folder with contents). */
  overwrite: boolean;
  downlink: RestoreDownlink;
  onProgress?: (c: RestoreProgress) => void;
  signal?: AbortSignal;
  tuning?: Partial<RestoreTuning>;
}

export interface RestoreTuning {
  /**
   * File data requests: expected bytes each (estimated from file sizes; the
   * reply is one frame of at most 8 MiB, so stay well under 6 MiB), chunks
   * each at most, and requests in flight.
   */
  batchBytes: number;
  batchChunks: number;
  batchesInFlight: number;
  /** Expected bytes requested and not yet written (bounds memory for chunk data). */
  windowBytes: number;
  /** Expected bytes the planner queues ahead of the writer, across folders. */
  aheadBytes: number;
  /** Files being closed (and, without syncfs, fsynced) in the background. */
  pendingSyncs: number;
  /**
   * Flushes a whole file system at the end of the restore (syncfs); null, or
   * failing when probed on the target, means fsync every file and folder instead.
   */
  syncFs: SyncFs | null;
  /** Small files (≤ 1 MiB) being created and written in the background. */
  filesInFlight: number;
  /** Small files written by a worker thread with synchronous calls (small-worker.ts); false: through fs/promises. */
  fileWorker: boolean;
}

const MiB = 1024 * 1024;

export const DEFAULT_RESTORE_TUNING: RestoreTuning = {
  batchBytes: 1 * MiB, batchChunks: MAX_BATCH_ITEMS, batchesInFlight: 6, windowBytes: 6 * MiB, aheadBytes: 24 * MiB,
  pendingSyncs: 16, filesInFlight: 16, syncFs: coreutilsSyncFs, fileWorker: true,
};

export interface RestoreResult {
  /** Non-directory entries restored. */
  files: number;
  /** File content bytes written. */
  bytes: number;
  warnings: string[];
}
