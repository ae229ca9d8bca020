/**
 * agent/restore — writes a recovery point (or chosen paths of it) to disk,
 * without networking.
 *
 * Owns: reading and checking Trees (feed.ts, validate.ts), prefetching and
 * verifying file chunks (feed.ts), selecting paths (select.ts), creating
 * entries without following symlinks (fsops.ts), writing files (writer.ts),
 * hard links (links.ts), background close (syncer.ts) and durability (durable.ts:
 * one syncfs per file system at the end, per-file fsync where that is
 * unavailable); plan.ts walks the point ahead of the writer, fetching Trees
 * and queueing file chunks across folders; run.ts restores its steps.
 *
 * Promises:
 *  - Every chunk is decompressed and checked against its SHA-256 before use;
 *    a mismatch fails the restore naming the path and digest.
 *  - A hostile tree ('', '.', '..', '/' or NUL in a name, duplicates, bad root
 *    names, overlapping roots, hard links leaving the point or pointing
 *    forward) fails the restore before the offending entry is written; no
 *    symlink is followed below the target (pre-existing or restored), so
 *    nothing is written outside it.
 *  - Root entry '/a/b' is restored to <target>/a/b ('' = '/', the original place).
 *  - Everything written is durable when runRestore returns: the file systems
 *    written to are synced (syncfs) at the end, or, without syncfs, every file
 *    and folder is fsynced as it is finished.
 *  - Problems with single entries (exists and overwrite is off, permission
 *    denied) are warnings; a full disk, I/O errors and bad data end the restore.
 */
export { runRestore } from './run.js';
export type { RestoreDownlink, RestoreOptions, RestoreProgress, RestoreResult, RestoreTuning } from './types.js';
