/**
 * Small files through the native addon in one thread-pool call (readSmall:
 * open, read, fstat, close, cut and hash; agent/native, backup/file.ts).
 * The addon call itself: chunks, hashes and fstat fields equal to the JS
 * reference for sizes 0 to one block, 'grew', and every error with Node's
 * code and the stage file.ts words its warning with. Then a backup: the same
 * entries as the fs/promises path (smallFiles off), and a file that grows,
 * vanishes, becomes a symbolic link or a folder between lstat and read.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EntryType, decodeTree, type Entry } from '@strata/protocol';
import { chunkBuffer } from '../../agent/src/chunker/index.js';
import { createNativeHasher, loadNative, type NativeHasher } from '../../agent/src/chunker/native.js';
import { openChunk } from '../../agent/src/util/zstd.js';
import { randomBytesSeeded } from '../helpers/fixture.js';
import { FakeStore } from './fake-store.js';
import { MiB, backup, restore, workDir } from './harness.js';

const IS_ROOT = process.getuid?.() === 0;
const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const NOATIME = constants.O_NOATIME ?? 0;
const BLOCK = MiB; // the pool's block size (agent/src/util/pool.ts)
const SIZES = [0, 1, 63, 4095, 4096, 9000, 16 * 1024, 40_000, 300_000, BLOCK - 1];
const hex = (h: Uint8Array) => Buffer.from(h).toString('hex');
const reference = (data: Buffer) => chunkBuffer(data).map((c) => createHash('sha256').update(c).digest('hex'));

describe('readSmall (addon)', () => {
  let work: ReturnType<typeof workDir>;
  let native: NativeHasher;
  beforeAll(() => {
    work = workDir('native-small');
    native = createNativeHasher();
  });
  afterAll(() => work.cleanup());

  for (const size of SIZES) {
    it(`reads, cuts and hashes a ${size}-byte file, with its fstat`, async () => {
      const f = path.join(work.dir, `f${size}`);
      const data = randomBytesSeeded(`small-${size}`, size);
      fs.writeFileSync(f, data);
      const region = Buffer.alloc(size + 1, 0xee);
      const r = await native.readSmall(Buffer.from(f), region, FLAGS, IS_ROOT ? NOATIME : 0);
      if (!r.ok) throw r.err;
      expect(r.n).toBe(size);
      expect(region.subarray(0, size).equals(data)).toBe(true);
      const got = [...r.cuts.ends].map((_, k) => hex(r.cuts.hashes.subarray(32 * k, 32 * k + 32)));
      expect(got).toEqual(reference(data));
      expect(r.cuts.ends.at(-1) ?? 0).toBe(size);
      const st = fs.statSync(f, { bigint: true });
      for (const k of ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'size', 'mtimeNs', 'ctimeNs'] as const) expect(r.st[k], k).toBe(st[k]);
      expect(r.st.isFile()).toBe(true);
    });
  }

  it('a file longer than the region fills it and gets no cuts (it grew)', async () => {
    const f = path.join(work.dir, 'grown');
    fs.writeFileSync(f, randomBytesSeeded('grown', 5000));
    const region = Buffer.alloc(4001);
    const r = await native.readSmall(Buffer.from(f), region, FLAGS, 0);
    if (!r.ok) throw r.err;
    expect(r.n).toBe(4001);
    expect(r.cuts.ends.length).toBe(0);
    expect(r.st.size).toBe(5000n);
  });

  it('errors carry Node\'s code and message, and the stage', async () => {
    const missing = path.join(work.dir, 'missing');
    const r1 = await native.readSmall(Buffer.from(missing), Buffer.alloc(10), FLAGS, 0);
    expect(r1.ok).toBe(false);
    if (r1.ok) return;
    expect(r1.stage).toBe('open');
    // The same wording as fs/promises open().
    const want = await fs.promises.open(missing, FLAGS).then(() => null, (e: Error) => e);
    expect(r1.err.message).toBe(want!.message);
    expect(r1.err).toMatchObject({ code: 'ENOENT', errno: (want as NodeJS.ErrnoException).errno, syscall: 'open', path: missing });

    const link = path.join(work.dir, 'link');
    fs.symlinkSync(path.join(work.dir, 'f1'), link);
    const r2 = await native.readSmall(Buffer.from(link), Buffer.alloc(10), FLAGS, 0);
    expect(r2).toMatchObject({ ok: false, stage: 'open', err: { code: 'ELOOP' } });

    // A folder opens read-only; reading it fails: a read-stage error, worded like fh.read's.
    const dir = path.join(work.dir, 'adir');
    fs.mkdirSync(dir);
    const r3 = await native.readSmall(Buffer.from(dir), Buffer.alloc(10), FLAGS, 0);
    expect(r3).toMatchObject({ ok: false, stage: 'read', err: { code: 'EISDIR', syscall: 'read', message: 'EISDIR: illegal operation on a directory, read' } });
  });

  it('a named pipe does not block (O_NONBLOCK); reading it fails as fh.read at offset 0 does', async () => {
    const fifo = path.join(work.dir, 'fifo');
    (await import('node:child_process')).execFileSync('mkfifo', [fifo]);
    const r = await native.readSmall(Buffer.from(fifo), Buffer.alloc(10), FLAGS, 0);
    const fh = await fs.promises.open(fifo, FLAGS);
    const want = await fh.read(Buffer.alloc(10), 0, 10, 0).then(() => null, (e: Error) => e);
    await fh.close();
    expect(want).toMatchObject({ code: 'ESPIPE' });
    expect(r).toMatchObject({ ok: false, stage: 'read', err: { code: 'ESPIPE', message: want!.message } });
  });

  it.runIf(IS_ROOT)('permission denied is EACCES; O_NOATIME on a file not owned is retried without it', async () => {
    const secret = path.join(work.dir, 'secret');
    const open = path.join(work.dir, 'open');
    fs.writeFileSync(secret, 'no');
    fs.chmodSync(secret, 0o000);
    fs.writeFileSync(open, 'readable by all');
    fs.chmodSync(open, 0o644);
    fs.chmodSync(work.dir, 0o755);
    // As 'nobody' (the pool threads share the process's credentials: glibc sets them on every thread).
    process.seteuid!(65534);
    let r1, r2;
    try {
      r1 = await native.readSmall(Buffer.from(secret), Buffer.alloc(10), FLAGS, NOATIME);
      r2 = await native.readSmall(Buffer.from(open), Buffer.alloc(100), FLAGS, NOATIME);
    } finally {
      process.seteuid!(0);
    }
    expect(r1).toMatchObject({ ok: false, stage: 'open', err: { code: 'EACCES' } });
    expect(r2).toMatchObject({ ok: true, n: 15 });
  });

  it('bad arguments throw', () => {
    const addon = createRequire(import.meta.url)('@strata/native') as typeof import('@strata/native');
    const params = addon.createParams(new Int32Array(256), 64, 128, 256, 1, 1);
    expect(() => addon.readSmall(params, Buffer.from('a\0b'), Buffer.alloc(1), 0, 0)).toThrow(/NUL/);
    expect(() => addon.readSmall(params, Buffer.from('/x'), Buffer.alloc(0), 0, 0)).toThrow(/at least one byte/);
    expect(() => addon.readSmall(params, 'x' as unknown as Buffer, Buffer.alloc(1), 0, 0)).toThrow(TypeError);
    expect(() => addon.readSmall({} as never, Buffer.from('/x'), Buffer.alloc(1), 0, 0)).toThrow(/not a handle/);
  });
});

describe('backup of small files through readSmall', () => {
  let work: ReturnType<typeof workDir>;
  let src: string;
  const native = loadNative();
  const orig = native?.readSmall.bind(native);
  beforeAll(() => {
    work = workDir('native-small-backup');
    src = path.join(work.dir, 'src');
    fs.mkdirSync(src);
  });
  afterEach(() => {
    if (native) {
      native.readSmall = orig!;
      Object.defineProperty(native, 'smallFiles', { value: true });
    }
  });
  afterAll(() => work.cleanup());

  const entries = (store: FakeStore, root: Uint8Array[]): Map<string, Entry> => {
    const tree = (hashes: Uint8Array[]) => decodeTree(Buffer.concat(hashes.map((h) => openChunk(store.chunks.get(hex(h))!, h, 'test'))));
    const top = tree(root).entries[0]!;
    expect(top.type).toBe(EntryType.Dir);
    return new Map(tree(top.chunks).entries.map((e) => [Buffer.from(e.name).toString(), e]));
  };

  it.skipIf(!native)('gives the same entries as the fs/promises path', async () => {
    const dir = path.join(src, 'same');
    fs.mkdirSync(dir);
    for (const size of SIZES) fs.writeFileSync(path.join(dir, `f${size}`), randomBytesSeeded(`same-${size}`, size));
    fs.writeFileSync(path.join(dir, 'block'), randomBytesSeeded('same-block', BLOCK));
    let calls = 0;
    native!.readSmall = (...a) => { calls++; return orig!(...a); };
    const run = async (small: boolean) => {
      Object.defineProperty(native, 'smallFiles', { value: small });
      const store = new FakeStore();
      const { result } = await backup(store, [dir], path.join(work.dir, `cache-same-${small}`), { tuning: { racyWindowMs: 0, fileWorker: false } });
      expect(result.warnings).toEqual([]);
      return entries(store, result.root);
    };
    const viaNative = await run(true);
    expect(calls).toBe(SIZES.length); // not the one-block file
    const viaFs = await run(false);
    expect(calls).toBe(SIZES.length);
    expect(viaNative.size).toBe(SIZES.length + 1);
    for (const [name, e] of viaFs) {
      expect(viaNative.get(name), name).toEqual(e);
      const data = fs.readFileSync(path.join(dir, name));
      expect(e.chunks.map(hex), name).toEqual(reference(data));
    }
  });

  /** A backup of one small file `name` where `meddle` runs between the walk's lstat and the read. */
  const meddled = async (name: string, meddle: (f: string) => void) => {
    const dir = path.join(src, name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'ok'), 'fine');
    const f = path.join(dir, name);
    fs.writeFileSync(f, randomBytesSeeded(name, 20_000));
    native!.readSmall = (p, ...rest) => {
      if (p.toString() === f) meddle(f);
      return orig!(p, ...rest);
    };
    const store = new FakeStore();
    const r = await backup(store, [dir], path.join(work.dir, `cache-${name}`), { tuning: { fileWorker: false } });
    return { store, r, f, dir };
  };

  it.skipIf(!native)('a file that grew between lstat and read is read the long way, with a warning', async () => {
    const more = randomBytesSeeded('more', 30_000);
    const { store, r, f } = await meddled('grows', (p) => fs.appendFileSync(p, more));
    expect(r.result.warnings).toEqual([`${f}: changed while being read; the backup holds the 50000 bytes that were read`]);
    const e = entries(store, r.result.root).get('grows')!;
    const data = fs.readFileSync(f);
    expect(data.length).toBe(50_000);
    expect(e.chunks.map(hex)).toEqual(reference(data));
    const dst = path.join(work.dir, 'restored');
    await restore(store, r.result.root, dst);
    expect(fs.readFileSync(path.join(dst, f)).equals(data)).toBe(true);
  });

  it.skipIf(!native)('a file that vanished is a warning', async () => {
    const { r, f } = await meddled('vanishes', (p) => fs.rmSync(p));
    expect(r.result.warnings).toEqual([`${f}: vanished during the backup; skipped`]);
    expect(r.result.files).toBe(1);
  });

  it.skipIf(!native)('a symbolic link swapped in is a warning (O_NOFOLLOW)', async () => {
    const { r, f } = await meddled('swapped', (p) => { fs.rmSync(p); fs.symlinkSync(path.join(path.dirname(p), 'ok'), p); });
    expect(r.result.warnings).toEqual([`${f}: became a symbolic link during the backup; skipped`]);
    expect(r.result.files).toBe(1);
  });

  it.skipIf(!native)('a folder swapped in cannot be read: a warning worded as by fh.read', async () => {
    const { r, f } = await meddled('dirswap', (p) => { fs.rmSync(p); fs.mkdirSync(p); });
    expect(r.result.warnings).toEqual([`${f}: cannot read: EISDIR: illegal operation on a directory, read; skipped`]);
    expect(r.result.files).toBe(1);
  });
});
