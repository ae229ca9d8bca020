/**
 * Vault backend on a local or mounted folder (the embedded default, under the
 * server data dir).
 *
 * Layout under the configured root:
 *   objects/<key>        one file per object, the key's '/' are directories
 *   incoming/<rand>.tmp  objects being written (same file system as objects/)
 * Keeping temp files out of objects/ means no key can ever collide with one
 * and a listing never sees a half-written object.
 *
 * put: write incoming/<rand>.tmp → fsync → rename (or link, for ifAbsent) to
 * objects/<key> → fsync the object's directory. A crash leaves at worst an
 * orphan in incoming/, removed at the next open once it is an hour old (other
 * servers may share the folder, each under its own prefix).
 *
 * One limitation the cloud backends do not have: a key cannot be both an
 * object and a "directory" ('a' and 'a/b'); such a put fails with 'invalid'.
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fsp, type Dirent } from 'node:fs';
import * as path from 'node:path';
import { fsyncDir, writeAll } from '../../util/durable.js';
import {
  checkKey, checkPrefix, checkRange, rangePastEnd, VaultError,
  type ByteRange, type PutOptions, type VaultBackend, type VaultObjectInfo,
} from './backend.js';

export interface LocalFolderOptions {
  /** Root folder of the vault; created if missing. */
  path: string;
  /** Behave as on a file system without hard links (tests the fallback of ifAbsent). */
  noHardLinks?: boolean;
  /** Test hook: called after the temp file is written and fsync'd, before it becomes visible. */
  beforePublish?: (tempPath: string, key: string) => void | Promise<void>;
}

const STALE_TEMP_MS = 60 * 60 * 1000;

export class LocalFolderBackend implements VaultBackend {
  readonly description: string;
  readonly root: string;
  readonly objectsDir: string;
  readonly incomingDir: string;
  /** Set once link() turned out unsupported here (or by the test option). */
  private noHardLinks: boolean;

  private constructor(private readonly opts: LocalFolderOptions) {
    this.noHardLinks = opts.noHardLinks ?? false;
    this.root = path.resolve(opts.path);
    this.description = `local://${this.root}`;
    this.objectsDir = path.join(this.root, 'objects');
    this.incomingDir = path.join(this.root, 'incoming');
  }

  /** Create the folder layout if needed and remove stale temp files. */
  static async open(opts: LocalFolderOptions): Promise<LocalFolderBackend> {
    const b = new LocalFolderBackend(opts);
    try {
      await fsp.mkdir(b.objectsDir, { recursive: true });
      await fsp.mkdir(b.incomingDir, { recursive: true });
    } catch (err) {
      throw b.mapError(err, 'creating the vault folder');
    }
    await b.removeStaleTemps();
    return b;
  }

  async put(key: string, data: Buffer | Uint8Array, opts: PutOptions = {}): Promise<void> {
    checkKey(key, this.description);
    const target = this.pathOf(key);
    const temp = path.join(this.incomingDir, `${randomBytes(8).toString('hex')}.tmp`);
    try {
      await this.writeTemp(temp, data);
      await this.opts.beforePublish?.(temp, key);
      await this.makeDirs(path.dirname(target));
      if (opts.ifAbsent) {
        await this.publishIfAbsent(temp, target);
      } else {
        await fsp.rename(temp, target);
      }
      await fsyncDir(path.dirname(target));
    } catch (err) {
      await fsp.rm(temp, { force: true }).catch(() => undefined);
      // ENOENT here means the vault folder went away (unmounted): mapReadError says so.
      throw (err as NodeJS.ErrnoException).code === 'ENOENT'
        ? await this.mapReadError(err, `writing ${key}`, key)
        : this.mapError(err, `writing ${key}`, key);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    checkKey(key, this.description);
    const r = checkRange(range, key, this.description);
    let fh: fsp.FileHandle | undefined;
    try {
      fh = await fsp.open(this.pathOf(key), constants.O_RDONLY);
      const { size } = await fh.stat();
      const offset = r?.offset ?? 0;
      const length = r ? r.length : size;
      if (r && offset + length > size) throw rangePastEnd(r, size, key, this.description);
      const buf = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
        if (bytesRead === 0) throw new VaultError('io', `${key} in ${this.description} shrank while being read`, { backend: this.description, key });
        done += bytesRead;
      }
      return buf;
    } catch (err) {
      throw await this.mapReadError(err, `reading ${key}`, key);
    } finally {
      await fh?.close();
    }
  }

  async head(key: string): Promise<{ size: number } | null> {
    checkKey(key, this.description);
    try {
      const st = await fsp.stat(this.pathOf(key));
      if (!st.isFile()) return null;
      return { size: st.size };
    } catch (err) {
      const e = await this.mapReadError(err, `checking ${key}`, key);
      if (e.kind === 'not-found') return null;
      throw e;
    }
  }

  async *list(prefix: string): AsyncIterable<VaultObjectInfo> {
    checkPrefix(prefix, this.description);
    // Start in the deepest directory that every matching key lies under.
    const base = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/') + 1) : '';
    try {
      await fsp.access(this.objectsDir);
    } catch (err) {
      throw await this.mapReadError(err, 'listing', prefix);
    }
    yield* this.walk(base, prefix);
  }

  async delete(key: string): Promise<void> {
    checkKey(key, this.description);
    const target = this.pathOf(key);
    try {
      await fsp.unlink(target);
    } catch (err) {
      const e = await this.mapReadError(err, `deleting ${key}`, key);
      if (e.kind === 'not-found') return;
      throw e;
    }
    try {
      await fsyncDir(path.dirname(target));
    } catch (err) {
      throw this.mapError(err, `deleting ${key}`, key);
    }
  }

  async close(): Promise<void> {}

  private pathOf(key: string): string {
    return path.join(this.objectsDir, ...key.split('/'));
  }

  /**
   * link() never replaces an existing name, so EEXIST means the key exists.
   * File systems without hard links (some SMB and FUSE mounts: EPERM, ENOTSUP,
   * ENOSYS) fall back to check-then-rename, which has a race window between
   * two writers of the same key (as S3 'check-first' has).
   */
  private async publishIfAbsent(temp: string, target: string): Promise<void> {
    if (!this.noHardLinks) {
      try {
        await fsp.link(temp, target);
        await fsp.unlink(temp);
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
        this.noHardLinks = true;
      }
    }
    const exists = await fsp.lstat(target).then(() => true, () => false);
    if (exists) throw Object.assign(new Error(`${target} exists`), { code: 'EEXIST' });
    await fsp.rename(temp, target);
  }

  /** mkdir -p, then fsync the parent of every directory it created, so the new entries are durable too. */
  private async makeDirs(dir: string): Promise<void> {
    const first = await fsp.mkdir(dir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
      // EEXIST/ENOTDIR: a path segment of the key is already an object ('a' when writing 'a/b').
      if (err.code === 'EEXIST' || err.code === 'ENOTDIR') err.code = 'ENOTDIR';
      throw err;
    });
    if (!first) return;
    for (let d = dir; ; d = path.dirname(d)) {
      await fsyncDir(path.dirname(d));
      if (d === first || d === this.objectsDir || path.dirname(d) === d) break;
    }
  }

  private async writeTemp(temp: string, data: Uint8Array): Promise<void> {
    const fh = await fsp.open(temp, 'wx', 0o640);
    try {
      await writeAll(fh, data, 0);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  /** Directory `dir` (a key prefix ending in '/' or ''), entries in key order. */
  private async *walk(dir: string, prefix: string): AsyncGenerator<VaultObjectInfo> {
    let entries: Dirent[];
    try {
      entries = await fsp.readdir(path.join(this.objectsDir, ...dir.split('/').filter(Boolean)), { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw this.mapError(err, `listing ${dir || '/'}`, dir);
    }
    // A directory 'a' holds keys 'a/…', so it sorts as 'a/': after 'a-b', before 'a0'.
    const named = entries
      .filter((e) => e.isFile() || e.isDirectory())
      .map((e) => ({ e, sortKey: Buffer.from(dir + e.name + (e.isDirectory() ? '/' : '')) }))
      .sort((a, b) => Buffer.compare(a.sortKey, b.sortKey));
    for (const { e, sortKey } of named) {
      const k = sortKey.toString();
      if (e.isDirectory()) {
        if (k.startsWith(prefix) || prefix.startsWith(k)) yield* this.walk(k, prefix);
      } else if (k.startsWith(prefix)) {
        let size: number;
        try {
          size = (await fsp.stat(path.join(this.objectsDir, ...k.split('/')))).size;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // deleted meanwhile
          throw this.mapError(err, `listing ${k}`, k);
        }
        yield { key: k, size };
      }
    }
  }

  private async removeStaleTemps(): Promise<void> {
    const now = Date.now();
    for (const name of await fsp.readdir(this.incomingDir).catch(() => [] as string[])) {
      if (!name.endsWith('.tmp')) continue;
      const p = path.join(this.incomingDir, name);
      const st = await fsp.stat(p).catch(() => null);
      if (st && now - st.mtimeMs > STALE_TEMP_MS) await fsp.rm(p, { force: true }).catch(() => undefined);
    }
  }

  /** Like mapError for reads: a missing vault folder (unmounted share) is 'unreachable', not 'not-found'. */
  private async mapReadError(err: unknown, what: string, key?: string): Promise<VaultError> {
    // Reading 'a/b' where 'a' is an object, or 'a' where 'a/…' exist: there is no such object.
    const code = (err as NodeJS.ErrnoException)?.code;
    const e = code === 'ENOTDIR' || code === 'EISDIR'
      ? new VaultError('not-found', `${key ?? 'object'} not found in ${this.description}`, { backend: this.description, key, cause: err })
      : this.mapError(err, what, key);
    if (e.kind === 'not-found') {
      const rootThere = await fsp.stat(this.objectsDir).then((s) => s.isDirectory(), () => false);
      if (!rootThere) {
        return new VaultError('unreachable', `cannot reach ${this.description}: its folder ${this.objectsDir} is missing (unmounted?) while ${what}`,
          { backend: this.description, key, cause: err });
      }
    }
    return e;
  }

  private mapError(err: unknown, what: string, key?: string): VaultError {
    if (err instanceof VaultError) return err;
    const code = (err as NodeJS.ErrnoException).code;
    const d = { backend: this.description, key, cause: err };
    const msg = (err as Error).message;
    switch (code) {
      case 'ENOENT':
        return new VaultError('not-found', `${key ?? 'object'} not found in ${this.description}`, d);
      case 'EEXIST':
        return new VaultError('conflict', `${key} already exists in ${this.description}`, d);
      case 'ENOSPC':
      case 'EDQUOT':
        return new VaultError('full', `no space left in ${this.description} while ${what}`, d);
      case 'EACCES':
      case 'EPERM':
        return new VaultError('auth', `permission denied on ${this.description} while ${what}: ${msg}`, d);
      case 'ENOTDIR':
      case 'EISDIR':
        return new VaultError('invalid', `${key} in ${this.description} clashes with another key used as a folder (${code})`, d);
      case 'ENAMETOOLONG':
        return new VaultError('invalid', `${key} is too long for the file system of ${this.description}`, d);
      default:
        return new VaultError('io', `${this.description}: I/O error while ${what}: ${msg}`, d);
    }
  }
}
