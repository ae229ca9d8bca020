/**
 * The agent's per-data-source cache: the raw tree chunks of the last
 * committed recovery point, so the next backup can walk the previous trees
 * alongside the file system without asking the server.
 *
 * Layout of cacheDir (docs/chunking.md, "Agent cache"):
 *   base.json              {format, pointId, root: [hex], files, dirs, bytes} of the committed point; written durably
 *   trees/<hh>/<hex>       raw tree chunk bytes, named by their SHA-256 (hh = first two hex digits)
 *   used-<key>.bin         32-byte hashes of every tree chunk a finished backup used (key = SHA-256 of its root hashes)
 *
 * Ordering: a backup only adds tree files; commitCache writes base.json (temp,
 * fsync, rename, folder fsync) and only then deletes tree files the new point
 * does not use. Tree files are not fsynced: every read checks the hash, and a
 * missing or damaged file only makes the next backup read that folder's files
 * again (the server's query still avoids re-sending what it has).
 */
import { mkdir, open, readFile, readdir, rename, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { decodeTree, type Tree } from '@strata/protocol';
import { asBuffer, hex } from '../util/bytes.js';
import { errCode } from '../util/errors.js';
import { sha256 } from '../util/hash.js';
import { writeFileDurable } from '../util/durable.js';
import type { BackupResult } from './types.js';

const FORMAT = 'strata-agent-cache-v1';
const USED_FLUSH = 64 * 1024;
const MAX_PENDING_WRITES = 16;

export interface CacheBase {
  format: string;
  pointId: string;
  root: string[];
  files: number;
  dirs: number;
  bytes: number;
}

/**
 * Commits still running, per cache dir. The server may start the next backup
 * of a data source as soon as it recorded the last one, while this agent is
 * still sweeping the cache for it: the sweep deletes other runs' used lists
 * and unused tree files, so a new run waits for it instead of losing its
 * files mid-run.
 */
const committing = new Map<string, Promise<void>>();

async function settledCommit(dir: string): Promise<void> {
  await committing.get(dir)?.catch(() => {});
}

export class TreeCache {
  private readonly fanout = new Set<string>();
  private readonly writes = new Set<Promise<void>>();
  private writeError: unknown = null;
  private used: FileHandle | null = null;
  private usedBuf = Buffer.allocUnsafe(USED_FLUSH);
  private usedLen = 0;
  private usedTmp = '';
  private usedChain: Promise<unknown> = Promise.resolve();

  private constructor(readonly dir: string, readonly base: CacheBase | null) {}

  /** Opens (creating) the cache; `base` is set only when the committed point is `parentPointId`. */
  static async open(dir: string, parentPointId: string): Promise<TreeCache> {
    await settledCommit(dir);
    await mkdir(join(dir, 'trees'), { recursive: true });
    const base = parentPointId ? await readBase(dir) : null;
    const cache = new TreeCache(dir, base && base.pointId === parentPointId ? base : null);
    cache.usedTmp = join(dir, `used-${randomBytes(6).toString('hex')}.tmp`);
    cache.used = await open(cache.usedTmp, 'w', 0o600);
    return cache;
  }

  /** A tree of the committed point from its chunk hashes, or null if any chunk is missing or damaged. */
  async loadTree(hashes: Uint8Array[]): Promise<Tree | null> {
    const bytes = await this.loadTreeBytes(hashes);
    if (!bytes) return null;
    try {
      return decodeTree(bytes);
    } catch {
      return null;
    }
  }

  /**
   * The encoded Tree (its chunks joined, each checked against its hash), or
   * null if any chunk is missing or damaged. The walker reads it entry by
   * entry (walker.ts, PrevEntries) instead of decoding it whole.
   */
  async loadTreeBytes(hashes: Uint8Array[]): Promise<Buffer | null> {
    const parts: Buffer[] = [];
    for (const h of hashes) {
      const path = chunkPath(this.dir, hex(h));
      let data: Buffer;
      try {
        data = await readFile(path);
      } catch {
        return null;
      }
      if (!sha256(data).equals(asBuffer(h))) {
        await unlink(path).catch(() => {});
        return null;
      }
      parts.push(data);
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /**
   * Records a tree chunk of the point being made (written in the background;
   * finish() waits). `known`: the file is already in the cache and was verified
   * in this run (it belongs to the previous tree just loaded), so it is not rewritten.
   */
  async storeTreeChunk(hash: Buffer, data: Buffer, known: boolean): Promise<void> {
    if (this.writeError) throw this.writeError;
    this.noteUsed(hash);
    if (known) return;
    while (this.writes.size >= MAX_PENDING_WRITES) await Promise.race(this.writes);
    const h = hash.toString('hex');
    const p = this.writeChunk(h, data).then(
      () => { this.writes.delete(p); },
      (e) => { this.writes.delete(p); this.writeError ??= e; },
    );
    this.writes.add(p);
  }

  /** Ends a successful backup: waits for the tree writes and saves the list of tree chunks it used. */
  async finish(root: Buffer[]): Promise<void> {
    for (const h of root) this.noteUsed(h);
    await Promise.all(this.writes);
    if (this.writeError) throw this.writeError;
    this.flushUsed();
    await this.usedChain;
    await this.used!.close();
    this.used = null;
    await rename(this.usedTmp, usedPath(this.dir, root));
  }

  /** Ends a failed backup: drops the used list (tree files stay until the next commit sweeps them). */
  async abort(): Promise<void> {
    await Promise.allSettled(this.writes);
    await this.usedChain.catch(() => {});
    await this.used?.close().catch(() => {});
    this.used = null;
    await unlink(this.usedTmp).catch(() => {});
  }

  private async writeChunk(h: string, data: Buffer): Promise<void> {
    const sub = h.slice(0, 2);
    if (!this.fanout.has(sub)) {
      await mkdir(join(this.dir, 'trees', sub), { recursive: true });
      this.fanout.add(sub);
    }
    // Overwrites: a file of that name may be left damaged by a crash or an earlier fault.
    await writeFile(chunkPath(this.dir, h), data, { mode: 0o600 });
  }

  private noteUsed(hash: Buffer): void {
    if (this.usedLen + hash.length > this.usedBuf.length) this.flushUsed();
    hash.copy(this.usedBuf, this.usedLen);
    this.usedLen += hash.length;
  }

  private flushUsed(): void {
    if (this.usedLen === 0) return;
    const data = this.usedBuf.subarray(0, this.usedLen);
    this.usedBuf = Buffer.allocUnsafe(USED_FLUSH);
    this.usedLen = 0;
    const fh = this.used!;
    this.usedChain = this.usedChain.then(() => fh.write(data));
  }
}

function chunkPath(dir: string, h: string): string {
  return join(dir, 'trees', h.slice(0, 2), h);
}

function usedPath(dir: string, root: Buffer[]): string {
  return join(dir, `used-${sha256(Buffer.concat(root)).toString('hex')}.bin`);
}

async function readBase(dir: string): Promise<CacheBase | null> {
  try {
    const b = JSON.parse(await readFile(join(dir, 'base.json'), 'utf8')) as CacheBase;
    const ok = b.format === FORMAT && typeof b.pointId === 'string' && Array.isArray(b.root)
      && b.root.every((h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h));
    return ok ? b : null;
  } catch {
    return null;
  }
}

/** Previous totals (for the progress ETA) if the committed point is `parentPointId`. */
export async function cachedTotals(dir: string, parentPointId: string): Promise<{ files: number; bytes: number } | null> {
  await settledCommit(dir);
  const b = parentPointId ? await readBase(dir) : null;
  return b && b.pointId === parentPointId ? { files: Number(b.files) || 0, bytes: Number(b.bytes) || 0 } : null;
}

/**
 * Called after the server confirmed `pointId` as durable: records it as the
 * cache's base (durably), then deletes the tree files it does not use and
 * the used lists of other runs. Without the run's used list (the result came
 * from elsewhere) the base is still recorded and nothing is deleted.
 */
export async function commitCache(cacheDir: string, pointId: string, result: BackupResult): Promise<void> {
  const prev = settledCommit(cacheDir);
  const run = prev.then(() => commitNow(cacheDir, pointId, result));
  committing.set(cacheDir, run);
  try {
    await run;
  } finally {
    if (committing.get(cacheDir) === run) committing.delete(cacheDir);
  }
}

async function commitNow(cacheDir: string, pointId: string, result: BackupResult): Promise<void> {
  const base: CacheBase = {
    format: FORMAT, pointId, root: result.root.map((h) => h.toString('hex')),
    files: result.files, dirs: result.dirs, bytes: result.bytes,
  };
  await mkdir(join(cacheDir, 'trees'), { recursive: true });
  const mine = usedPath(cacheDir, result.root);
  let used: Buffer | null = null;
  try {
    used = await readFile(mine);
  } catch (e) {
    if (errCode(e) !== 'ENOENT') throw e;
  }
  await writeFileDurable(join(cacheDir, 'base.json'), JSON.stringify(base, null, 1));
  if (!used) return;
  await sweepTrees(cacheDir, used);
  for (const name of await readdir(cacheDir)) {
    if (/^used-.*\.(bin|tmp)$/.test(name) && join(cacheDir, name) !== mine) await unlink(join(cacheDir, name)).catch(() => {});
  }
}

/** Deletes tree files not listed in `used`, one fan-out folder at a time (bounded memory). */
async function sweepTrees(cacheDir: string, used: Buffer): Promise<void> {
  const n = Math.floor(used.length / 32);
  const start = new Uint32Array(257);
  for (let i = 0; i < n; i++) start[used[i * 32]! + 1]!++;
  for (let b = 0; b < 256; b++) start[b + 1]! += start[b]!;
  const order = new Uint32Array(n);
  const fill = start.slice(0, 256);
  for (let i = 0; i < n; i++) order[fill[used[i * 32]!]!++] = i;
  for (let b = 0; b < 256; b++) {
    const sub = b.toString(16).padStart(2, '0');
    const dir = join(cacheDir, 'trees', sub);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    const keep = new Set<string>();
    for (let k = start[b]!; k < start[b + 1]!; k++) keep.add(used.toString('hex', order[k]! * 32, order[k]! * 32 + 32));
    for (const name of names) if (!keep.has(name)) await unlink(join(dir, name)).catch(() => {});
  }
}
