/**
 * File-system operations of the restorer, written so that no symbolic link is
 * ever followed below the target: folders are created with mkdir and an
 * existing one is used only if lstat shows a real folder; files are created
 * with O_CREAT|O_EXCL|O_NOFOLLOW (after removing what is in the way, only
 * when overwriting); metadata is applied through descriptors opened with
 * O_NOFOLLOW, or with the l* calls for symlinks. (Node has no openat(), so a
 * concurrent local attacker swapping folders mid-restore is out of scope; the
 * tree and the pre-existing contents of the target are not trusted.)
 */
import { constants } from 'node:fs';
import { lchown, link, lstat, lutimes, mkdir, open, stat, symlink, unlink, type FileHandle } from 'node:fs/promises';
import type { Entry } from '@strata/protocol';
import { showPath } from '../util/bytes.js';
import { errCode } from '../util/errors.js';

export const IS_ROOT = process.getuid?.() === 0;
/** Flags of a new restored file: never follows a symlink, never opens an existing name. */
export const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const DIR_OPEN = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

export type Warn = (message: string) => void;

/**
 * Makes sure `dest` is a real folder. 'created' (new, mode 0700 until its
 * metadata is applied), 'existing', or null (something else is in the way and
 * `overwrite` is off; warned). `followLink`: an existing symlink to a folder
 * is acceptable (only for components of an original-location root path).
 * `mode`: of a new folder (0700 for point entries, whose mode is set after their contents).
 */
export async function ensureDir(dest: Buffer, overwrite: boolean, warn: Warn, followLink = false, mode = 0o700): Promise<'created' | 'existing' | null> {
  try {
    await mkdir(dest, mode);
    return 'created';
  } catch (e) {
    if (errCode(e) !== 'EEXIST') throw e;
  }
  const st = await lstat(dest);
  if (st.isDirectory()) return 'existing';
  if (st.isSymbolicLink() && followLink) {
    const target = await stat(dest).catch(() => null);
    if (target?.isDirectory()) return 'existing';
  }
  const what = st.isSymbolicLink() ? 'a symbolic link (not followed)' : 'a non-folder';
  if (!overwrite) {
    warn(`${showPath(dest)}: ${what} is in the way of a folder; not overwritten, nothing restored below it`);
    return null;
  }
  await unlink(dest);
  await mkdir(dest, mode);
  return 'created';
}

/** Frees `dest` for a new non-folder. False (warned) when something stays in the way. */
async function clear(dest: Buffer, overwrite: boolean, warn: Warn): Promise<boolean> {
  const st = await lstat(dest).catch((e) => { if (errCode(e) === 'ENOENT') return null; throw e; });
  if (!st) return true;
  if (!overwrite) {
    warn(`${showPath(dest)}: exists; not overwritten`);
    return false;
  }
  if (st.isDirectory()) {
    warn(`${showPath(dest)}: exists as a folder; not replaced`);
    return false;
  }
  await unlink(dest);
  return true;
}

/** Creates a new regular file (mode 0600 until its metadata is applied), or null (warned). */
export async function createFile(dest: Buffer, overwrite: boolean, warn: Warn): Promise<FileHandle | null> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      return await open(dest, CREATE, 0o600);
    } catch (e) {
      if (errCode(e) !== 'EEXIST' || attempt > 0) throw e;
    }
    if (!(await clear(dest, overwrite, warn))) return null;
  }
  return null;
}

export async function createSymlink(dest: Buffer, target: Buffer, e: Entry, overwrite: boolean, warn: Warn): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await symlink(target, dest);
      break;
    } catch (err) {
      if (errCode(err) !== 'EEXIST' || attempt > 0) throw err;
    }
    if (!(await clear(dest, overwrite, warn))) return false;
  }
  await chownSafe(() => lchown(dest, e.uid, e.gid), dest, warn);
  const t = toSeconds(e.mtimeSec, e.mtimeNsec);
  await lutimes(dest, t, t);
  return true;
}

export async function createHardlink(dest: Buffer, existing: Buffer, overwrite: boolean, warn: Warn): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await link(existing, dest);
      return true;
    } catch (err) {
      if (errCode(err) !== 'EEXIST' || attempt > 0) throw err;
    }
    if (!(await clear(dest, overwrite, warn))) return false;
  }
  return false;
}

/** Owner, mode (incl. setuid/setgid/sticky: after chown, which clears them) and times, through a descriptor. */
export async function applyMeta(fh: FileHandle, e: Entry, dest: Buffer, warn: Warn): Promise<void> {
  await chownSafe(() => fh.chown(e.uid, e.gid), dest, warn);
  await fh.chmod(e.mode & 0o7777);
  const t = toSeconds(e.mtimeSec, e.mtimeNsec);
  await fh.utimes(t, t);
}

/** Applies a folder's metadata and, if `fsync`, fsyncs it (its new names become durable; else syncfs does that at the end). */
export async function finishDir(dest: Buffer, e: Entry | null, warn: Warn, fsync: boolean): Promise<void> {
  if (!e && !fsync) return;
  const fh = await open(dest, DIR_OPEN);
  try {
    if (e) await applyMeta(fh, e, dest, warn);
    if (fsync) await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Seconds for utimes. Node passes times as a double, so sub-microsecond
 * precision is lost; half a microsecond is added so that rounding in the
 * conversion cannot fall into the previous microsecond.
 */
export function toSeconds(sec: number, nsec: number): number {
  return sec + (Math.floor(nsec / 1000) + 0.5) / 1e6;
}

async function chownSafe(fn: () => Promise<void>, dest: Buffer, warn: Warn): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const code = errCode(e);
    if (!IS_ROOT && (code === 'EPERM' || code === 'EINVAL')) return; // only root may give files away
    warn(`${showPath(dest)}: cannot set owner (${code ?? (e as Error).message})`);
  }
}
