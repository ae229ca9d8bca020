/**
 * The one conformance suite every vault backend passes, against the real
 * thing (a folder, Azurite, s3rver). Each backend's test file calls
 * vaultBackendConformance() with a harness that opens a fresh backend.
 *
 * Every object written is read back and compared (s3rver once stored streamed
 * uploads corrupted without an error: STACK.md). Tests share one backend but
 * each works under its own key prefix; the 'unreachable' test runs last
 * because it stops the server.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VaultError, type VaultBackend, type VaultErrorKind } from '../../../server/src/vault/backends/index.js';

export interface ConformanceHarness {
  name: string;
  /** Opens a backend on an empty namespace, or returns null after skipOrFail() said skip. */
  open(opts: { listPageSize: number }): Promise<VaultBackend | null>;
  /** Makes the target unreachable (stops the emulator, unmounts the folder). */
  makeUnreachable(): Promise<void>;
  close(): Promise<void>;
  /** Keys for a listing that needs the backend's own default paging (> 1000 for S3/Azure); 0 skips it. */
  bigListing?: number;
  /** Opens a second backend on the same target with default settings (for the big listing). */
  openDefault?(): Promise<VaultBackend>;
  /** ifAbsent is exact under concurrency (false where it is emulated: s3rver). */
  exactIfAbsent: boolean;
  /**
   * Lists in true byte order even where '/' meets a smaller character
   * ('a-b' < 'a.b' < 'a/b'). False for s3rver, which walks its folders.
   */
  slashByteOrder?: boolean;
  /**
   * A reader racing an overwrite sees one whole version (S3, Azure and our
   * rename-based folder promise it). False for s3rver, which rewrites its
   * file in place: a racing GET there has come back torn (seen in CI).
   */
  atomicOverwrite?: boolean;
  /** The bound for "fails with 'unreachable'" once the target is gone. */
  unreachableWithinMs?: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;
/** Small page size so paging is exercised with a handful of keys. */
export const SMALL_PAGE = 7;

export const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export async function expectVaultError(p: Promise<unknown>, kind: VaultErrorKind): Promise<VaultError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err, `expected VaultError '${kind}'`).toBeInstanceOf(VaultError);
  expect((err as VaultError).kind, (err as Error).message).toBe(kind);
  return err as VaultError;
}

export async function collect(it: AsyncIterable<{ key: string; size: number }>) {
  const out: Array<{ key: string; size: number }> = [];
  for await (const o of it) out.push(o);
  return out;
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Run `fn` over `items` with at most `n` in flight. */
export async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

export const HOSTILE_KEYS = [
  '', '/abs', 'trailing/', 'a//b', '..', '.', '../escape', 'a/../../escape', 'a/./b', 'a\\b', '..\\escape',
  'nul\u0000byte', 'new\nline', 'x'.repeat(1100),
];

export function vaultBackendConformance(h: ConformanceHarness): void {
  let b: VaultBackend;
  let skipped = false;

  /** put, then read back and compare — every object, every time. */
  async function putVerified(key: string, data: Buffer, opts?: { ifAbsent?: boolean }) {
    await b.put(key, data, opts);
    const back = await b.get(key);
    expect(back.length, `${key} size`).toBe(data.length);
    expect(sha(back), `${key} content`).toBe(sha(data));
  }

  describe(`vault backend conformance: ${h.name}`, () => {
    beforeAll(async () => {
      const opened = await h.open({ listPageSize: SMALL_PAGE });
      if (!opened) skipped = true;
      else b = opened;
    });
    afterAll(async () => {
      await b?.close?.();
      await h.close();
    });

    it('has a description without secrets', (ctx) => {
      if (skipped) return ctx.skip();
      expect(b.description).toMatch(/^(local|azure|s3|memory):\/\//);
      expect(b.description).not.toMatch(/key|secret|sig=|S3RVER|Eby8/i);
    });

    it('round-trips objects of many sizes, byte for byte', async (ctx) => {
      if (skipped) return ctx.skip();
      const sizes = [0, 1, 17, 4095, 4096, 65_537, MiB + 3];
      for (const size of sizes) await putVerified(`rt/obj-${size}`, randomBytes(size));
      for (const size of sizes) expect(await b.head(`rt/obj-${size}`)).toEqual({ size });
      // a Uint8Array that is a view into a bigger buffer: only its bytes are stored
      const big = randomBytes(1000);
      const view = new Uint8Array(big.buffer, big.byteOffset + 100, 300);
      await b.put('rt/view', view);
      expect(sha(await b.get('rt/view'))).toBe(sha(view));
    });

    it('overwrites an existing key with the whole new object', async (ctx) => {
      if (skipped) return ctx.skip();
      await putVerified('ow/k', randomBytes(5000));
      const second = randomBytes(300);
      await putVerified('ow/k', second);
      expect(await b.head('ow/k')).toEqual({ size: 300 });
    });

    it('reads byte ranges at the start, middle and end, and refuses ranges past the end', async (ctx) => {
      if (skipped) return ctx.skip();
      const data = randomBytes(100 * KiB + 7);
      const n = data.length;
      await putVerified('rg/obj', data);
      for (const [offset, length] of [[0, 10], [0, 1], [4096, 5000], [n - 10, 10], [n - 1, 1], [0, n], [500, 0], [n, 0]]) {
        const got = await b.get('rg/obj', { offset: offset!, length: length! });
        expect(got.length).toBe(length);
        expect(got.equals(data.subarray(offset, offset! + length!)), `range ${offset}+${length}`).toBe(true);
      }
      await expectVaultError(b.get('rg/obj', { offset: n - 5, length: 10 }), 'invalid');
      await expectVaultError(b.get('rg/obj', { offset: n, length: 1 }), 'invalid');
      await expectVaultError(b.get('rg/obj', { offset: n + 100, length: 10 }), 'invalid');
      await expectVaultError(b.get('rg/obj', { offset: n + 1, length: 0 }), 'invalid');
      await expectVaultError(b.get('rg/obj', { offset: -1, length: 10 }), 'invalid');
      await expectVaultError(b.get('rg/obj', { offset: 0, length: 1.5 }), 'invalid');
      await expectVaultError(b.get('rg/missing', { offset: 0, length: 10 }), 'not-found');
      await expectVaultError(b.get('rg/missing', { offset: 0, length: 0 }), 'not-found');
    });

    it('heads: size of an object, null for a missing key', async (ctx) => {
      if (skipped) return ctx.skip();
      await putVerified('hd/a', randomBytes(1234));
      expect(await b.head('hd/a')).toEqual({ size: 1234 });
      expect(await b.head('hd/missing')).toBeNull();
      expect(await b.head('hd/a/below')).toBeNull();
      expect(await b.head('hd')).toBeNull();
    });

    it('gets a missing key as not-found', async (ctx) => {
      if (skipped) return ctx.skip();
      const e = await expectVaultError(b.get('nf/missing'), 'not-found');
      expect(e.message).toContain('nf/missing');
      expect(e.message).toContain(b.description);
      expect(e.transient).toBe(false);
    });

    it('lists by prefix in byte order, with sizes, across pages', async (ctx) => {
      if (skipped) return ctx.skip();
      const keys = ['ls/x/1', 'ls/x0', 'ls/x/2/deep', 'ls/y/z/w', 'ls/Z', 'ls/\u00e9t\u00e9', 'ls/a_b', 'ls/x~1'];
      for (const [i, k] of keys.entries()) await putVerified(k, randomBytes(i * 10));
      const sizeOf = new Map(keys.map((k, i) => [k, i * 10]));
      const expectList = async (prefix: string) => {
        const want = keys.filter((k) => k.startsWith(prefix)).sort(byteOrder).map((key) => ({ key, size: sizeOf.get(key) }));
        expect(await collect(b.list(prefix)), `list(${JSON.stringify(prefix)})`).toEqual(want);
      };
      for (const p of ['ls/', 'ls', 'ls/x', 'ls/x/', 'ls/x/2/', 'ls/y/z', 'ls/nothing', 'ls/\u00e9']) await expectList(p);
      expect(await collect(b.list('no-such-prefix/'))).toEqual([]);

      // more keys than several pages
      const many = Array.from({ length: SMALL_PAGE * 3 + 2 }, (_, i) => `pg/k${String(i).padStart(3, '0')}`);
      await pool(many, 8, (k) => putVerified(k, Buffer.from(k)));
      const listed = await collect(b.list('pg/'));
      expect(listed.map((o) => o.key)).toEqual(many);
      expect(listed.every((o) => o.size === o.key.length)).toBe(true);
      const all = await collect(b.list(''));
      expect(all.map((o) => o.key)).toEqual([...all.map((o) => o.key)].sort(byteOrder));
      expect(all.filter((o) => o.key.startsWith('pg/')).length).toBe(many.length);
    });

    it("lists '/' after '-' and '.' (byte order), across pages", async (ctx) => {
      if (skipped || h.slashByteOrder === false) return ctx.skip();
      const keys = ['lo/a-b', 'lo/a/b', 'lo/a.c', 'lo/a0', 'lo/a/c/d', 'lo/a-', 'lo/a/-', 'lo/a./x', 'lo/a!', 'lo/b', 'lo/a/0'];
      await pool(keys, 4, (k) => putVerified(k, Buffer.from(k)));
      expect((await collect(b.list('lo/'))).map((o) => o.key)).toEqual([...keys].sort(byteOrder));
      expect((await collect(b.list('lo/a/'))).map((o) => o.key)).toEqual(keys.filter((k) => k.startsWith('lo/a/')).sort(byteOrder));
    });

    it('puts ifAbsent: a second put of the same key is a conflict and changes nothing', async (ctx) => {
      if (skipped) return ctx.skip();
      const first = randomBytes(2000);
      await putVerified('ia/k', first, { ifAbsent: true });
      const e = await expectVaultError(b.put('ia/k', randomBytes(10), { ifAbsent: true }), 'conflict');
      expect(e.message).toContain('ia/k');
      expect(sha(await b.get('ia/k'))).toBe(sha(first));
      // once deleted, the key is absent again
      await b.delete('ia/k');
      await putVerified('ia/k', randomBytes(5), { ifAbsent: true });
    });

    it('puts ifAbsent concurrently: exactly one writer wins (where exact)', async (ctx) => {
      if (skipped || !h.exactIfAbsent) return ctx.skip();
      const bodies = Array.from({ length: 8 }, () => randomBytes(64 * KiB));
      const results = await Promise.allSettled(bodies.map((d) => b.put('iac/k', d, { ifAbsent: true })));
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(won.length).toBe(1);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as VaultError).kind).toBe('conflict');
      expect(sha(await b.get('iac/k'))).toBe(sha(bodies[won[0]!]!));
    });

    it('deletes idempotently', async (ctx) => {
      if (skipped) return ctx.skip();
      await putVerified('dl/k', randomBytes(100));
      await putVerified('dl/keep', randomBytes(100));
      await b.delete('dl/k');
      expect(await b.head('dl/k')).toBeNull();
      await expectVaultError(b.get('dl/k'), 'not-found');
      await b.delete('dl/k');
      await b.delete('dl/never/existed');
      expect((await collect(b.list('dl/'))).map((o) => o.key)).toEqual(['dl/keep']);
    });

    it('refuses hostile keys before any I/O', async (ctx) => {
      if (skipped) return ctx.skip();
      for (const key of HOSTILE_KEYS) {
        const what = JSON.stringify(key.slice(0, 20));
        for (const op of [
          () => b.put(key, Buffer.from('x')), () => b.get(key), () => b.head(key), () => b.delete(key),
          () => b.get(key, { offset: 0, length: 1 }),
        ]) {
          const e = await expectVaultError(op(), 'invalid');
          expect(e.message, what).toMatch(/refused/);
        }
      }
      for (const prefix of ['../', '/abs', 'a//', 'a\\']) await expectVaultError(collect(b.list(prefix)), 'invalid');
      await expectVaultError(b.put(123 as unknown as string, Buffer.from('x')), 'invalid');
      const all = await collect(b.list(''));
      expect(all.some((o) => /escape|abs|nul|line/.test(o.key))).toBe(false);
    });

    it('stores keys with unusual but valid characters exactly as given', async (ctx) => {
      if (skipped) return ctx.skip();
      const keys = ['un/with space', 'un/per%20cent', 'un/plus+sign', 'un/q?mark', 'un/hash#tag', 'un/amp&eq=1',
        "un/quote'd", 'un/tilde~at@colon:', 'un/..dots..', 'un/.hidden', 'un/\u65e5\u672c', 'un/emoji\u{1f600}', 'un/x'.padEnd(200, 'y')];
      for (const k of keys) await putVerified(k, Buffer.from(k));
      for (const k of keys) expect(await b.head(k), k).toEqual({ size: Buffer.byteLength(k) });
      const listed = (await collect(b.list('un/'))).map((o) => o.key);
      expect([...listed].sort()).toEqual([...keys].sort());
      for (const k of keys) await b.delete(k);
      expect(await collect(b.list('un/'))).toEqual([]);
    });

    it('stores a 20 MiB object and reads it whole and in ranges', async (ctx) => {
      if (skipped) return ctx.skip();
      const data = randomBytes(20 * MiB);
      await putVerified('big/20m', data);
      expect(await b.head('big/20m')).toEqual({ size: data.length });
      const mid = await b.get('big/20m', { offset: 7 * MiB + 13, length: 3 * MiB });
      expect(mid.equals(data.subarray(7 * MiB + 13, 10 * MiB + 13))).toBe(true);
      const tail = await b.get('big/20m', { offset: data.length - MiB, length: MiB });
      expect(tail.equals(data.subarray(data.length - MiB))).toBe(true);
    });

    it('runs concurrent puts of distinct keys, and concurrent overwrites of one key stay whole', async (ctx) => {
      if (skipped) return ctx.skip();
      const objs = Array.from({ length: 24 }, (_, i) => ({ key: `cc/k${i}`, data: randomBytes(128 * KiB + i) }));
      await Promise.all(objs.map((o) => b.put(o.key, o.data)));
      for (const o of objs) expect(sha(await b.get(o.key)), o.key).toBe(sha(o.data));

      const versions = Array.from({ length: 6 }, () => randomBytes(256 * KiB));
      const readers: Array<Promise<Buffer | null>> = [];
      await b.put('cc/same', versions[0]!);
      await Promise.all(versions.map(async (d) => {
        readers.push(b.get('cc/same').catch(() => null));
        await b.put('cc/same', d);
      }));
      const hashes = new Set(versions.map(sha));
      if (h.atomicOverwrite === false) {
        // s3rver writes an object in place: racing overwrites can leave it torn (docs/vault-backends.md). The
        // vault never overwrites concurrently; a plain overwrite afterwards must still leave it whole.
        await b.put('cc/same', versions[0]!);
        expect(sha(await b.get('cc/same'))).toBe(sha(versions[0]!));
      } else expect(hashes.has(sha(await b.get('cc/same')))).toBe(true);
      // a reader racing with the writers sees one whole version, never a mix or a partial object
      const seen = await Promise.all(readers);
      if (h.atomicOverwrite !== false) for (const r of seen) if (r) expect(hashes.has(sha(r))).toBe(true);
    });

    it('lists more keys than one page of the real service', async (ctx) => {
      if (skipped || !h.bigListing || !h.openDefault) return ctx.skip();
      const d = await h.openDefault();
      try {
        const keys = Array.from({ length: h.bigListing }, (_, i) => `bl/${String(i).padStart(5, '0')}`);
        await pool(keys, 16, (k) => d.put(k, Buffer.from(k)));
        const listed = await collect(d.list('bl/'));
        expect(listed.length).toBe(keys.length);
        expect(listed.map((o) => o.key)).toEqual(keys);
        // every object was stored whole (content = its key)
        await pool(keys.filter((_, i) => i % 50 === 0), 8, async (k) => expect((await d.get(k)).toString()).toBe(k));
      } finally {
        await d.close?.();
      }
    });

    // Last: it takes the target away.
    it("fails with 'unreachable' within a bounded time once the target is gone", async (ctx) => {
      if (skipped) return ctx.skip();
      await putVerified('ur/k', randomBytes(10));
      await h.makeUnreachable();
      const bound = h.unreachableWithinMs ?? 10_000;
      for (const op of [
        () => b.get('ur/k'), () => b.put('ur/new', randomBytes(1000)), () => collect(b.list('ur/')),
        () => b.head('ur/k'), () => b.delete('ur/k'), () => b.get('ur/k', { offset: 0, length: 5 }),
      ]) {
        const t0 = Date.now();
        const e = await expectVaultError(op(), 'unreachable');
        expect(Date.now() - t0, e.message).toBeLessThan(bound);
        expect(e.transient).toBe(true);
        expect(e.message).toContain(b.description);
      }
    });
  });
}
