/**
 * agent/restore — writes a recovery point (or chosen paths of it) to disk,
 * without networking.
 *
 * Owns: reading and checking Trees (feed.ts, validate.ts), prefetching and
 * verifying file chunks (feed.ts), selecting paths (select.ts), creating
 * entries without following symlinks (fsops.ts), writing files (writer.ts),
 * hard links (links.ts) and background fsync (syncer.ts); run.ts walks the point.
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
 *  - Files are fsynced (in the background, bounded) and their folders fsynced
 *    after their metadata is set; runRestore returns after all of it.
 *  - Problems with single entries (exists and overwrite is off, permission
 *    denied) are warnings; a full disk, I/O errors and bad data end the restore.
 */
export { runRestore } from './run.js';
export type { RestoreDownlink, RestoreOptions, RestoreProgress, RestoreResult, RestoreTuning } from './types.js';
