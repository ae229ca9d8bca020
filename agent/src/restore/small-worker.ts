/**
 * Small restored files written by a worker thread, one file at a time and
 * synchronously: create (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600), write, owner,
 * mode, times, fsync when the restore is durable file by file, close — one
 * message per file instead of six trips through libuv's thread pool and
 * promises (on a 2-core machine those cost about five times the CPU of the calls).
 *
 * Same rules as fsops.ts: no symlink is followed (O_NOFOLLOW on a new file,
 * metadata through its descriptor); only root may give files away (EPERM and
 * EINVAL from fchown are ignored for others); the mode is set after the owner
 * (chown clears setuid/setgid). A name that already exists is not touched:
 * the caller then takes the careful path (fsops.createFile, which knows about
 * `overwrite`).
 */
import { Worker } from 'node:worker_threads';
import type { Entry } from '@strata/protocol';
import { toSeconds } from './fsops.js';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { CREATE, isRoot, shared, slotBytes } = workerData;
const errOf = (e) => ({ code: e && e.code, message: String(e && e.message) });
// One file at a time, create included: creates in one folder are serialised by the folder's
// lock anyway, and on Linux a thread waiting for that lock spins on a CPU while the holder
// runs (rwsem_spin_on_owner). Issued in parallel from the thread pool, up to 16 creates
// burned a core spinning behind ext4's inode allocation (1 GiB restores: 4-8 s of system
// time saved serially, docs/benchmarks.md stop 10).
parentPort.on('message', (m) => {
  const path = Buffer.from(m.path.buffer, m.path.byteOffset, m.path.byteLength);
  let fd;
  try {
    fd = fs.openSync(path, CREATE, 0o600);
  } catch (e) {
    return parentPort.postMessage({ id: m.id, stage: 'create', err: errOf(e) });
  }
  fill(m, fd);
});
function fill(m, fd) {
  const warnings = [];
  let err = null, written = 0;
  try {
    const data = m.slot >= 0 ? Buffer.from(shared, m.slot * slotBytes, m.len) : m.data ? Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength) : null;
    while (data && written < data.length) {
      const n = fs.writeSync(fd, data, written, data.length - written, written);
      if (n <= 0) throw Object.assign(new Error('short write'), { code: 'EIO' });
      written += n;
    }
    try {
      fs.fchownSync(fd, m.uid, m.gid);
    } catch (e) {
      if (isRoot || (e.code !== 'EPERM' && e.code !== 'EINVAL')) warnings.push('cannot set owner (' + (e.code || e.message) + ')');
    }
    fs.fchmodSync(fd, m.mode);
    fs.futimesSync(fd, m.time, m.time);
  } catch (e) {
    err = errOf(e);
  }
  let syncErr = null;
  try {
    if (!err && m.fsync) fs.fsyncSync(fd);
  } catch (e) {
    syncErr = errOf(e);
  }
  try { fs.closeSync(fd); } catch (e) { if (!err && !syncErr) syncErr = errOf(e); }
  parentPort.postMessage({ id: m.id, written, warnings, err, syncErr });
}
`;

export type SmallWrite =
  /** A name is in the way (EEXIST): nothing was done; take the careful path. */
  | { ok: false; exists: true }
  /** `err`: the file could not be created or written (an entry-level or fatal error, see writer.ts guard). */
  | { ok: false; exists: false; err: Error; created: boolean }
  /** Written; `syncErr`: the fsync or close failed (the restore cannot be durable). */
  | { ok: true; written: number; warnings: string[]; syncErr: Error | null };

interface ErrOut { code?: string; message: string }

/**
 * File bytes go to the worker through slots of one SharedArrayBuffer, reused
 * once the worker answers, instead of a fresh buffer per file: every fresh
 * ArrayBuffer counts towards V8's external memory, which is what starts most
 * of a restore's full garbage collections. A file larger than a slot, or one
 * sent while every slot is out, gets its own (transferred) buffer as before.
 */
const SLOT_BYTES = 256 * 1024;
const SLOTS = 8;
interface Reply { id: number; stage?: 'create'; err?: ErrOut | null; syncErr?: ErrOut | null; written?: number; warnings?: string[] }

const toError = (e: ErrOut): Error => Object.assign(new Error(e.message), e.code ? { code: e.code } : {});

export class SmallFileWorker {
  private worker: Worker | null = null;
  private load = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;
  private readonly shared = new SharedArrayBuffer(SLOT_BYTES * SLOTS);
  private readonly freeSlots = Array.from({ length: SLOTS }, (_, i) => SLOTS - 1 - i);

  constructor(private readonly createFlags: number, private readonly isRoot: boolean) {}

  /** Creates `dest` with the bytes of `bufs` and `e`'s owner, mode and times; `fsync`: make it durable before closing. */
  async write(dest: Buffer, bufs: Buffer[], total: number, e: Entry, fsync: boolean): Promise<SmallWrite> {
    // One copy, into a shared slot or into memory of its own that is handed over (transferred), not copied again.
    let data: Uint8Array | null = null;
    const slot = total > 0 && total <= SLOT_BYTES ? this.freeSlots.pop() ?? -1 : -1;
    if (slot >= 0) {
      data = new Uint8Array(this.shared, slot * SLOT_BYTES, total);
    } else if (total > 0) {
      data = new Uint8Array(total);
    }
    let off = 0;
    if (data) for (const b of bufs) { data.set(b, off); off += b.length; }
    const msg = {
      path: new Uint8Array(dest), slot, len: total, data: slot >= 0 ? null : data, uid: e.uid, gid: e.gid, mode: e.mode & 0o7777,
      time: toSeconds(e.mtimeSec, e.mtimeNsec), fsync,
    };
    const r = await this.call(msg, data && slot < 0 ? [data.buffer as ArrayBuffer] : []);
    // The worker answered, so it is done with the slot. (After a failure the slot is not reused: the worker may still be reading it.)
    if (slot >= 0) this.freeSlots.push(slot);
    if (r.stage === 'create') {
      if (r.err?.code === 'EEXIST') return { ok: false, exists: true };
      return { ok: false, exists: false, err: toError(r.err!), created: false };
    }
    if (r.err) return { ok: false, exists: false, err: toError(r.err), created: true };
    return { ok: true, written: r.written!, warnings: r.warnings ?? [], syncErr: r.syncErr ? toError(r.syncErr) : null };
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    this.fail(new Error('restore file worker closed'));
    if (w) await w.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { CREATE: this.createFlags, isRoot: this.isRoot, shared: this.shared, slotBytes: SLOT_BYTES },
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 16 },
    });
    w.on('message', (m: Reply) => {
      if (--this.load === 0) w.unref();
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      p?.resolve(m);
    });
    w.on('error', (e) => this.fail(e));
    w.on('exit', (code) => { if (code !== 0) this.fail(new Error(`restore file worker exited with code ${code}`)); });
    w.unref();
    this.worker = w;
    return w;
  }

  private call(msg: Record<string, unknown>, transfer: ArrayBuffer[]): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    const w = this.start();
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.load++ === 0) w.ref();
      w.postMessage({ id, ...msg }, transfer);
    });
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
