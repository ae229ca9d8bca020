/**
 * chunk-store — the server's content-addressed, deduplicating chunk store on
 * local disk (format: docs/storage-format.md).
 *
 * Owns: pack files (chunks appended with self-describing, checksummed
 * records), the on-disk sorted index (hash → pack, offset, length), per
 * recovery point ref lists, garbage collection and verification.
 *
 * Promises:
 *  - every chunk is verified on the way in (SHA-256 of the raw bytes equals
 *    its name) and on the way out; damage is reported as ChunkCorruptError
 *    naming the store, the digest and the pack (a restore's batch read,
 *    getStoredMany 'record', checks only the record: its agent verifies the
 *    SHA-256 of every chunk);
 *  - nothing put() is durable before flush() resolves, and everything is
 *    after; a crash loses only unflushed chunks and never damages flushed ones;
 *  - memory does not grow with the number of chunks stored (only with the
 *    unmerged index delta, which merging bounds);
 *  - gc runs while backups run: chunks put or marked in use after it began
 *    are kept, and so are packs created after it began.
 *
 * Imports nothing above it (only node built-ins, zstd-napi and ../util).
 */
export { ChunkStore } from './chunk-store.js';
export type { ReadCheck } from './chunk-reader.js';
export type { GcRun, RebuildResult } from './chunk-store.js';
export { RefList, RefLists, checkPointId } from './ref-list.js';
export { Compression } from './types.js';
export type {
  ChunkIn, ChunkLocation, ChunkStoreOptions, ChunkStoreStats, GcOptions, GcResult, PackWriteFn, VerifyDamage,
  VerifyProgress, VerifyResult,
} from './types.js';
export {
  ChunkCorruptError, ChunkHashMismatchError, ChunkInvalidError, ChunkNotFoundError, GcRunningError,
  InvalidPointIdError, RefListNotFoundError, StoreClosedError, StoreDiskFullError, StoreFormatError, StoreIoError,
  StoreLockedError, StrataError, toStoreError,
} from './errors.js';
export type { ErrorKind } from './errors.js';
export type { PutManyResult } from './chunk-store.js';
