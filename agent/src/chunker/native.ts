/**
 * The native chunker (agent/native: @strata/native): chunker v1's cut
 * rule and SHA-256 (the OpenSSL inside Node) in C, run on libuv's thread
 * pool, so the agent's main thread neither runs the gear loop nor hashes.
 * Same chunks and hashes as Chunker + sha256 (tests: test/agent/native-*.test.ts).
 *
 * Loaded once, lazily; if the addon is missing or fails to load, or
 * STRATA_AGENT_NATIVE=0, loadNative() returns null and the backup uses the JS
 * chunker on the main thread (or the file worker) exactly as before.
 * The parameters and the gear table are passed in from params.ts (one source of truth).
 */
import type { BigIntStats } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Addon from '@strata/native';
import type { BlockCuts, HashStream } from './cuts.js';
import { CHUNKER_V1, GEAR, checkParams, type ChunkerParams } from './params.js';
import { statsFrom } from '../util/stat-fields.js';

export interface NativeHasher {
  /** A stream for a large file: push() runs on the thread pool; pushes may overlap (they are queued, in order). */
  open(): HashStream;
  /** Chunks and hashes a whole buffer (the last chunk included) on this thread: for small files, where a thread-pool trip costs more than the work. */
  cutAll(buf: Uint8Array): BlockCuts;
  /** Same, on the thread pool. */
  cutAllAsync(buf: Uint8Array): Promise<BlockCuts>;
  /** SHA-256 of buf[0, ends[0]), buf[ends[0], ends[1]), …, as 32-byte digests; on the thread pool. */
  sha256Many(buf: Uint8Array, ends: Uint32Array): Promise<Buffer>;
  /**
   * Whether backup/file.ts reads small files with readSmall (STRATA_AGENT_NATIVE_SMALL=0: no,
   * they take open/read/fstat/close through fs/promises as before; for A/B measurements).
   */
  readonly smallFiles: boolean;
  /**
   * A small file in one thread-pool trip: open (flags | noatime, again without noatime on EPERM),
   * read from offset 0 into `region` until it is full or the file ends, fstat, close, cut and hash.
   * n === region.length means the file grew (no cuts: read it the long way). The region's bytes
   * must not change until the promise settles.
   */
  readSmall(path: Buffer, region: Uint8Array, flags: number, noatime: number): Promise<SmallFileRead>;
}

/** What readSmall gives: like the file worker's SmallRead (backup/file-worker.ts). */
export type SmallFileRead =
  | { ok: true; n: number; st: BigIntStats; cuts: BlockCuts }
  | { ok: false; stage: 'open' | 'read'; err: Error };

/**
 * A whole small file is cut and hashed on the thread pool from this size on, below it on this
 * thread: a thread-pool trip costs the main thread ~10 µs (measured), what 1.35 GB/s does to ~14 KiB.
 */
export const NATIVE_ASYNC_MIN = 16 * 1024;

class Native implements NativeHasher {
  private readonly params: Addon.ParamsHandle;
  /** Off by switch, or when an addon built before readSmall existed is loaded (a stale build must not fail small files). */
  readonly smallFiles: boolean;

  constructor(private readonly addon: typeof Addon, p: ChunkerParams) {
    checkParams(p);
    this.smallFiles = process.env.STRATA_AGENT_NATIVE_SMALL !== '0' && typeof (addon as { readSmall?: unknown }).readSmall === 'function';
    this.params = addon.createParams(GEAR, p.minSize, p.normalSize, p.maxSize, p.maskS, p.maskL);
  }

  open(): HashStream {
    const addon = this.addon;
    const s = addon.streamOpen(this.params);
    // The addon runs one push per stream at a time (the gear state and the open
    // SHA-256 context carry over): a push waits for the one before it.
    let tail: Promise<unknown> = Promise.resolve();
    return {
      push: (block) => {
        const p = tail.then(() => addon.streamPush(s, block));
        tail = p.catch(() => {});
        return p;
      },
      finish: async () => {
        await tail;
        return addon.streamFinish(s);
      },
    };
  }

  cutAll(buf: Uint8Array): BlockCuts {
    return this.addon.chunkHash(this.params, buf, false);
  }

  cutAllAsync(buf: Uint8Array): Promise<BlockCuts> {
    return this.addon.chunkHash(this.params, buf, true);
  }

  sha256Many(buf: Uint8Array, ends: Uint32Array): Promise<Buffer> {
    return this.addon.sha256Many(buf, ends, true);
  }

  async readSmall(path: Buffer, region: Uint8Array, flags: number, noatime: number): Promise<SmallFileRead> {
    const r = await this.addon.readSmall(this.params, path, region, flags, noatime);
    if ('code' in r) {
      // Shaped like Node's fs errors, so warnFile words it as before: fs/promises names the
      // path for open, not for calls on the descriptor (read, fstat).
      const err = r.syscall === 'open'
        ? Object.assign(new Error(`${r.message} '${path.toString()}'`), { code: r.code, errno: r.errno, syscall: r.syscall, path: path.toString() })
        : Object.assign(new Error(r.message), { code: r.code, errno: r.errno, syscall: r.syscall });
      return { ok: false, stage: r.stage, err };
    }
    return { ok: true, n: r.n, st: statsFrom(r.st), cuts: r };
  }
}

/** Why the native path is or is not used (for the one start-up log line). */
export interface NativeStatus { native: boolean; reason: string }

let loaded: { hasher: NativeHasher | null; addon: typeof Addon | null; status: NativeStatus } | null = null;

function load(): { hasher: NativeHasher | null; addon: typeof Addon | null; status: NativeStatus } {
  if (process.env.STRATA_AGENT_NATIVE === '0') return { hasher: null, addon: null, status: { native: false, reason: 'STRATA_AGENT_NATIVE=0' } };
  try {
    // require(), not import: the bundle (scripts/build.mjs) keeps the addon
    // external, and a failed load must fall back instead of failing the agent's start.
    const addon = createRequire(import.meta.url)('@strata/native') as typeof Addon;
    return { hasher: new Native(addon, CHUNKER_V1), addon, status: { native: true, reason: 'addon loaded' } };
  } catch (e) {
    return { hasher: null, addon: null, status: { native: false, reason: `addon not loaded: ${(e as Error).message.split('\n')[0]}` } };
  }
}

/** The loaded addon for the backup's other native calls (lstatMany), or null (JS fallback). */
export function nativeAddon(): typeof Addon | null {
  loaded ??= load();
  return loaded.addon;
}

/** The native hasher for chunker v1, or null (JS fallback). Loaded on first call. */
export function loadNative(): NativeHasher | null {
  loaded ??= load();
  return loaded.hasher;
}

/** Whether the native path is used, and why (loads it if not done yet). */
export function nativeStatus(): NativeStatus {
  loaded ??= load();
  return loaded.status;
}

/** A native hasher for other parameters (tests); throws if the addon does not load. */
export function createNativeHasher(p: ChunkerParams = CHUNKER_V1): NativeHasher {
  return new Native(createRequire(import.meta.url)('@strata/native') as typeof Addon, p);
}
