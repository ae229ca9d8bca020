/**
 * lstat of a folder's entries in batches, for the walker's StatWindow and the
 * pre-scan: through the file worker when it is on (one message), else the
 * addon's lstatMany (one trip to libuv's thread pool). Each fs/promises call wakes a pool
 * thread, and on a paravirtualized VM that wake-up cost more than the lstat:
 * the unchanged re-run's main thread spent over a quarter of its time in it.
 * Same results as fs.lstat(path, { bigint: true }) for the fields the backup
 * uses (util/stat-fields.ts), and an Error with Node's code, errno, syscall
 * and path for a path that failed. STRATA_AGENT_NATIVE_STAT=0 turns it off.
 */
import { getSystemErrorMap } from 'node:util';
import { nativeAddon } from '../chunker/index.js';
import { statsFrom } from '../util/stat-fields.js';
import type { FileWorker, StatResult } from './file-worker.js';

const FIELDS = 9;
/** lstat of each path, in order (never rejects for a path's error: that is its result). */
export type LstatMany = (paths: Buffer[]) => Promise<StatResult[]>;

/** The batched lstat to use: the file worker's, else the addon's, else null (then one fs call per path). */
export function batchLstat(worker: FileWorker | null | undefined): LstatMany | null {
  return worker ? (paths) => worker.lstat(paths) : nativeLstatMany();
}

let cached: LstatMany | null | undefined;
const systemErrors = getSystemErrorMap();

/** The batched lstat, or null (no addon, a build without lstatMany, or turned off): then one fs call per path. */
export function nativeLstatMany(): LstatMany | null {
  if (cached !== undefined) return cached;
  const addon = process.env.STRATA_AGENT_NATIVE_STAT === '0' ? null : nativeAddon();
  if (!addon || typeof addon.lstatMany !== 'function') return (cached = null);
  const lstatMany = addon.lstatMany.bind(addon);
  return (cached = async (paths) => {
    let n = 0;
    for (const p of paths) n += p.length + 1;
    const joined = Buffer.allocUnsafe(n);
    let at = 0;
    for (const p of paths) {
      p.copy(joined, at);
      at += p.length;
      joined[at++] = 0;
    }
    const r = await lstatMany(joined);
    return paths.map((p, k): StatResult => {
      const errno = r.errno[k]!;
      if (errno === 0) return { ok: true, st: statsFrom(r.st.subarray(k * FIELDS, (k + 1) * FIELDS)) };
      const [code, desc] = systemErrors.get(errno) ?? [`Unknown system error ${errno}`, 'unknown error'];
      return { ok: false, err: Object.assign(new Error(`${code}: ${desc}, lstat '${p.toString()}'`), { code, errno, syscall: 'lstat', path: p.toString() }) };
    });
  });
}
