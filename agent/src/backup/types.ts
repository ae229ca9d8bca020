/** The backup path's contracts with the lead's network code and the daemon. */
import type { BackupCommand, Chunk } from '@strata/protocol';
import type { ChunkCompressor } from '../util/zstd.js';
import type { BlockPool } from '../util/pool.js';

export interface BackupUplink {
  /**
   * Asks the server which of these chunk hashes it already has for this agent
   * (at most MAX_BATCH_ITEMS = 4096 per call). Answers one boolean per hash, in
   * order (true = the server has it). May be called while earlier calls are
   * still pending (the walker keeps a bounded number in flight).
   */
  query(hashes: Buffer[]): Promise<boolean[]>;
  /**
   * Queues one chunk for upload (hash = SHA-256 of the raw bytes; data zstd-
   * compressed or raw). Resolves when the chunk is accepted into the bounded
   * send window: the walker awaits it, which is its backpressure. Called for
   * one chunk at a time (never concurrently). `chunk.data` may be a view into
   * a larger buffer; the uplink must not modify it.
   */
  send(chunk: Chunk, release?: () => void): Promise<void>;
  /**
   * true: send() is given a `release` callback for chunks whose data is a view
   * into the agent's read blocks, and calls it (once) when it no longer refers
   * to chunk.data, which may be after send() resolved (a batch being filled).
   * Otherwise the data may be reused as soon as send() resolves.
   */
  readonly releasesData?: boolean;
  /** Sends what the uplink batched without waiting for it to fill (the agent's read blocks ran out). */
  flush?(): Promise<void>;
}

export interface BackupCounters {
  /** Logical bytes of the files examined so far (read or unchanged). */
  bytesScanned: number;
  /** Bytes handed to uplink.send (compressed size). */
  bytesSent: number;
  /** Non-directory entries examined so far. */
  filesScanned: number;
  /** Files read because they are new or changed. */
  filesChanged: number;
  /** Expected totals for an ETA; 0 = not known (yet). */
  bytesTotal: number;
  filesTotal: number;
  /** The absolute path being worked on (for display; non-UTF-8 bytes escaped). */
  currentPath: string;
}

export interface BackupResult {
  /** Chunk hashes of the point's root Tree. */
  root: Buffer[];
  /** Non-directory entries in the point (files, hard links, symlinks). */
  files: number;
  /** Directory entries in the point, the source folders included. */
  dirs: number;
  /** Logical bytes of all file contents (each hard-linked file once). */
  bytes: number;
  /** Vanished, unreadable, skipped or changed-while-read entries, one line each (at most MAX_WARNINGS). */
  warnings: string[];
}

export interface BackupOptions {
  cmd: BackupCommand;
  /** This data source's cache folder (created if missing); one backup at a time per folder. */
  cacheDir: string;
  uplink: BackupUplink;
  onProgress?: (c: BackupCounters) => void;
  signal?: AbortSignal;
  /** Tuning and test hooks; the defaults are what the daemon uses. */
  tuning?: Partial<BackupTuning>;
}

export interface BackupTuning {
  /** File read block size (the size of the pool's blocks). */
  readBlock: number;
  /**
   * Read blocks preallocated for the run (at least 2): all file data in flight
   * (read ahead, queued for a query, compressing, batched in the uplink) lives
   * in them, so this bounds it; a reader waits for a block when none is free.
   */
  poolBlocks: number;
  /** Test hook: the pool to read into (default: poolBlocks blocks of readBlock bytes). */
  pool?: BlockPool;
  /** Chunks per query batch, and raw bytes per query batch. */
  batchChunks: number;
  batchBytes: number;
  /** Query batches in flight (queried but not yet fully sent). */
  batchesInFlight: number;
  /** Compressor to use; default a WorkerCompressor owned (and closed) by runBackup. */
  compressor: ChunkCompressor;
  /** lstat, read small files, chunk and hash in a worker thread (backup/file-worker.ts); false: on the main thread. */
  fileWorker: boolean;
  /** Files read concurrently (small files are latency-bound; chunks are hashed on one thread anyway). */
  filesInFlight: number;
  /** Entries whose lstat runs ahead of the walk, per folder. */
  statAhead: number;
  /** Test hook: files whose ctime is this recent when read are re-read next time (default 200 ms, see run.ts). */
  racyWindowMs?: number;
  /** Chunk hashes remembered as already queried in this run (two generations of this size). */
  seenLimit: number;
}

export const DEFAULT_TUNING: Omit<BackupTuning, 'compressor'> = {
  // Sized for a peak RSS well under 150 MiB: what is in flight is bounded by bytes
  // (read blocks, query batches), and 1 MiB reads / 2 MiB batches ran as fast
  // as 4 / 8 MiB here while holding a third of the memory.
  readBlock: 1024 * 1024,
  poolBlocks: 12,
  batchChunks: 512,
  batchBytes: 2 * 1024 * 1024,
  batchesInFlight: 4,
  fileWorker: true,
  filesInFlight: 8,
  statAhead: 32,
  // Two fixed tables of 65 536 slots × 33 bytes (uploader.ts, HashTable): 4.1 MiB on any dataset,
  // remembering the last 49 152–98 304 chunks (one seen longer ago is only queried again; the server then has it).
  seenLimit: 49_152,
};
