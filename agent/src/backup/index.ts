/**
 * agent/backup — the agent's backup data path, without networking.
 *
 * Owns: walking the source folders (walker.ts, filter.ts, sources.ts), reading
 * changed files into content-defined chunks (file.ts), the query/compress/send
 * pipeline (uploader.ts) and the per-data-source tree cache that makes
 * incremental backups cheap (cache.ts).
 *
 * Promises:
 *  - runBackup returns only after every chunk the point needs was either
 *    reported present by uplink.query or handed to uplink.send; the caller
 *    then drains its uplink and commits `root`.
 *  - An unchanged file (size, mtime, ctime, inode) is neither read nor
 *    queried when the cache holds the parent point; everything else is read.
 *  - Vanished, unreadable, special and changed-while-read entries are warnings;
 *    a missing source folder, an uplink error or cancellation fail the run.
 *  - Memory: the folders on the current path, a bounded number of batches, a
 *    bounded set of recently seen hashes, and the first names of multiply
 *    linked files.
 * Tree conventions (names, hard links, folder sizes): docs/chunking.md.
 */
export { runBackup } from './run.js';
export { commitCache } from './cache.js';
export type { BackupUplink, BackupCounters, BackupResult, BackupOptions, BackupTuning } from './types.js';
