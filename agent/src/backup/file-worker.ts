/**
 * The backup's file worker: one thread that takes the per-file system calls
 * and the chunking/hashing off the main thread, which is then left with the
 * walk's bookkeeping, compression hand-off and the network.
 *
 *  - lstat(paths): a batch of lstat calls, made synchronously in the worker
 *    (on this 2-core class of machine a synchronous lstat/open/read/close of
 *    a cached file costs a fifth of the CPU of the same calls through libuv's
 *    thread pool and promises);
 *  - readSmall(path, region): open, read into a region of a shared pool
 *    block, fstat, close, chunk and hash — a small file in one message;
 *  - open(): a stream for a large file whose blocks (read by the main thread
 *    into shared pool blocks) are chunked and hashed in place; each block is
 *    answered with the chunk ends found in it and their SHA-256s, and the main
 *    thread cuts the same chunks as views (Chunker.pushCuts).
 *
 * The cut rule is chunker v1's (params.ts), mirrored line by line from
 * Chunker.push; tests check both give the same chunks for every split.
 * Contract: messages are answered in order; a block's bytes must not change
 * until its answer arrived (the worker reads them in place); the worker keeps
 * no reference to a block after answering (a chunk spanning blocks is hashed
 * incrementally, never joined).
 */
import type { BigIntStats } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { CHUNKER_V1, GEAR, type ChunkerParams } from '../chunker/index.js';
import { statsFrom } from '../util/stat-fields.js';
import type { BlockCuts, HashStream } from '../chunker/cuts.js';

/*
 * Worker code, run with `eval` so that it loads in every runtime (tsx, vitest,
 * the esbuild bundle) without a separate file. In cut(), `len` is the current
 * chunk's bytes before the block, `h` its gear hash, `sha` the hash of its
 * bytes so far (null: none yet).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const crypto = require('node:crypto');
const fs = require('node:fs');
const G = new Int32Array(workerData.gear);
const { minSize: min, normalSize: normal, maxSize: max } = workerData.params;
const mS = workerData.params.maskS | 0, mL = workerData.params.maskL | 0;
const oneShot = typeof crypto.hash === 'function' ? (b) => crypto.hash('sha256', b, 'buffer') : (b) => crypto.createHash('sha256').update(b).digest();
const streams = new Map();
const buf8 = (u) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
function cut(s, buf, ends, hashes) {
  const n = buf.length;
  let len = s.len, h = s.h, start = 0, i = 0;
  for (;;) {
    let cur = len + i - start;
    if (cur < min) {
      const skip = min - cur;
      if (i + skip > n) { i = n; break; }
      i += skip;
      cur = min;
    }
    let c = -1;
    if (cur < normal) {
      let end = i + (normal - cur);
      if (end > n) end = n;
      for (; i < end; i++) {
        h = ((h << 1) + G[buf[i]]) | 0;
        if ((h & mS) === 0) { c = i + 1; break; }
      }
      if (c < 0 && i === n) break;
      cur = len + i - start;
    }
    if (c < 0) {
      let end = i + (max - cur);
      if (end > n) end = n;
      for (; i < end; i++) {
        h = ((h << 1) + G[buf[i]]) | 0;
        if ((h & mL) === 0) { c = i + 1; break; }
      }
      if (c < 0) {
        if (len + i - start < max) break;
        c = i;
      }
    }
    const piece = buf.subarray(start, c);
    if (len === 0) hashes.push(oneShot(piece));
    else { s.sha.update(piece); hashes.push(s.sha.digest()); s.sha = null; }
    ends.push(c);
    len = 0; start = c; i = c; h = 0;
  }
  if (start < n) {
    if (!s.sha) s.sha = crypto.createHash('sha256');
    s.sha.update(buf.subarray(start, n));
    len += n - start;
  }
  s.len = len; s.h = h;
}
function packed(id, ends, hashes, extra) {
  const out = new Uint8Array(32 * hashes.length);
  for (let k = 0; k < hashes.length; k++) out.set(hashes[k], 32 * k);
  const e = Int32Array.from(ends);
  parentPort.postMessage({ id, ends: e, hashes: out, ...extra }, [e.buffer, out.buffer]);
}
const statOf = (st) => [st.dev, st.ino, st.mode, st.nlink, st.uid, st.gid, st.size, st.mtimeNs, st.ctimeNs];
const errOf = (e) => ({ code: e && e.code, message: String(e && e.message) });
function readSmall(m) {
  const path = buf8(m.path);
  let fd;
  try {
    try {
      fd = fs.openSync(path, m.flags | m.noatime);
    } catch (e) {
      // O_NOATIME needs ownership or CAP_FOWNER.
      if (!m.noatime || e.code !== 'EPERM') throw e;
      fd = fs.openSync(path, m.flags);
    }
  } catch (e) {
    return parentPort.postMessage({ id: m.id, stage: 'open', err: errOf(e) });
  }
  let n, st;
  try {
    n = fs.readSync(fd, m.buf, 0, m.buf.length, 0);
    st = statOf(fs.fstatSync(fd, { bigint: true }));
  } catch (e) {
    return parentPort.postMessage({ id: m.id, stage: 'read', err: errOf(e) });
  } finally {
    try { fs.closeSync(fd); } catch {}
  }
  const ends = [], hashes = [];
  if (n < m.buf.length) { // else the file grew: the caller reads it the long way
    const s = { len: 0, h: 0, sha: null };
    cut(s, buf8(m.buf).subarray(0, n), ends, hashes);
    if (s.len > 0) { ends.push(n); hashes.push(s.sha.digest()); }
  }
  packed(m.id, ends, hashes, { n, st });
}
parentPort.on('message', (m) => {
  if (m.op === 'lstat') {
    const stats = m.paths.map((p) => {
      try { return statOf(fs.lstatSync(buf8(p), { bigint: true })); } catch (e) { return errOf(e); }
    });
    return parentPort.postMessage({ id: m.id, stats });
  }
  if (m.op === 'read') return readSmall(m);
  let s = streams.get(m.stream);
  if (!s) { s = { len: 0, h: 0, sha: null }; streams.set(m.stream, s); }
  if (m.op === 'finish') {
    streams.delete(m.stream);
    return parentPort.postMessage({ id: m.id, last: s.len > 0 ? s.sha.digest() : null });
  }
  const ends = [], hashes = [];
  cut(s, buf8(m.buf), ends, hashes);
  packed(m.id, ends, hashes);
});
`;

export type { BlockCuts, HashStream } from '../chunker/cuts.js';

export type StatResult = { ok: true; st: BigIntStats } | { ok: false; err: unknown };

/**
 * A small file read in one go: `n` bytes read into the region (n equal to
 * the region's length means the file grew: read it the long way), the fstat
 * after reading, and its chunks (ends within the region, hashes).
 */
export type SmallRead =
  | { ok: true; n: number; st: BigIntStats; cuts: BlockCuts }
  | { ok: false; stage: 'open' | 'read'; err: Error };

interface ErrOut { code?: string; message: string }
type StatOut = bigint[] | ErrOut;
interface Reply {
  id: number;
  ends?: Int32Array; hashes?: Uint8Array; last?: Uint8Array | null;
  stats?: StatOut[]; n?: number; st?: bigint[]; stage?: 'open' | 'read'; err?: ErrOut;
}

const toError = (e: ErrOut): Error => Object.assign(new Error(e.message), e.code ? { code: e.code } : {});
const asBuf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export class FileWorker {
  private worker: Worker | null = null;
  private load = 0;
  private nextId = 1;
  private nextStream = 1;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;

  constructor(private readonly params: ChunkerParams = CHUNKER_V1) {}

  /** Starts the thread now (it takes tens of milliseconds), so the first task does not wait for it. */
  warm(): this {
    this.start();
    return this;
  }

  open(): HashStream {
    const stream = this.nextStream++;
    return {
      push: async (block) => {
        // A view into a SharedArrayBuffer is read in place; anything else is copied once.
        const buf = block.buffer instanceof SharedArrayBuffer ? block : new Uint8Array(block);
        const r = await this.call({ op: 'chunk', stream, buf });
        return { ends: r.ends!, hashes: asBuf(r.hashes!) };
      },
      finish: async () => {
        const r = await this.call({ op: 'finish', stream });
        return r.last ? asBuf(r.last) : null;
      },
    };
  }

  /** lstat of each path, in order (never rejects for a path's error: that is its result). */
  async lstat(paths: Buffer[]): Promise<StatResult[]> {
    const r = await this.call({ op: 'lstat', paths: paths.map((p) => new Uint8Array(p)) }); // tight copies: a view would clone its whole pool slab
    return r.stats!.map((s) => (Array.isArray(s) ? { ok: true as const, st: statsFrom(s) } : { ok: false as const, err: toError(s) }));
  }

  /** Reads a small file into `region` (a view into a shared pool block), see SmallRead. */
  async readSmall(path: Buffer, region: Buffer, flags: number, noatime: number): Promise<SmallRead> {
    if (!(region.buffer instanceof SharedArrayBuffer)) throw new TypeError('readSmall needs a region of shared memory');
    const r = await this.call({ op: 'read', path: new Uint8Array(path), buf: region, flags, noatime });
    if (r.err) return { ok: false, stage: r.stage!, err: toError(r.err) };
    return { ok: true, n: r.n!, st: statsFrom(r.st!), cuts: { ends: r.ends!, hashes: asBuf(r.hashes!) } };
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    this.fail(new Error('file worker closed'));
    if (w) await w.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { gear: GEAR.slice().buffer, params: { ...this.params } },
      // Its heap holds a few hashes, stats and small arrays at a time.
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 24 },
    });
    w.on('message', (m: Reply) => {
      // Referenced only while it has work: an idle worker must not keep the process alive.
      if (--this.load === 0) w.unref();
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      p?.resolve(m);
    });
    w.on('error', (e) => this.fail(e));
    w.on('exit', (code) => { if (code !== 0) this.fail(new Error(`file worker exited with code ${code}`)); });
    w.unref();
    this.worker = w;
    return w;
  }

  private call(msg: Record<string, unknown>): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    const w = this.start();
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.load++ === 0) w.ref();
      w.postMessage({ id, ...msg });
    });
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
