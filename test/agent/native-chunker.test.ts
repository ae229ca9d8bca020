/**
 * The native addon (agent/native) against the JS reference: Chunker +
 * node:crypto SHA-256 must give exactly the same cuts and hashes for every
 * input and every way of splitting it into blocks.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { CHUNKER_V1, GEAR, Chunker, chunkBuffer, createNativeHasher, type ChunkerParams } from '../../agent/src/chunker/index.js';
import type * as Addon from '@strata/native';

const addon = createRequire(import.meta.url)('@strata/native') as typeof Addon;
const native = createNativeHasher();
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A small deterministic PRNG (xorshift32), so that failures reproduce. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}
function randomData(n: number, seed: number): Buffer {
  const r = rng(seed);
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i + 4 <= n; i += 4) b.writeUInt32LE(r(), i);
  for (let i = n & ~3; i < n; i++) b[i] = r() & 0xff;
  return b;
}

/** The reference: chunk lengths and hex digests from the JS chunker and node:crypto. */
function reference(data: Buffer, params: ChunkerParams = CHUNKER_V1) {
  const chunks = chunkBuffer(data, params);
  return { lens: chunks.map((c) => c.length), digests: chunks.map(sha) };
}

/** The same through a native stream, with blocks of the given sizes (cycled); checks each block's ends too. */
async function viaStream(data: Buffer, sizes: number[], hasher = native, shared = false) {
  const s = hasher.open();
  const lens: number[] = [];
  const digests: string[] = [];
  let pending = 0;
  const pushes: Promise<void>[] = [];
  for (let o = 0, i = 0; o < data.length || (o === 0 && i === 0 && data.length === 0 && false); i++) {
    const n = Math.min(sizes[i % sizes.length]!, data.length - o);
    const block = shared ? Buffer.from(new SharedArrayBuffer(n)) : Buffer.alloc(n);
    data.copy(block, 0, o, o + n);
    o += n;
    // Pushes overlap (as in file.ts): the wrapper must keep them in order.
    pushes.push(s.push(block).then((cuts) => {
      let start = 0;
      for (let k = 0; k < cuts.ends.length; k++) {
        const end = cuts.ends[k]!;
        expect(end).toBeGreaterThan(start);
        expect(end).toBeLessThanOrEqual(n);
        lens.push(pending + end - start);
        pending = 0;
        start = end;
        digests.push(cuts.hashes.subarray(32 * k, 32 * k + 32).toString('hex'));
      }
      expect(cuts.hashes.length).toBe(32 * cuts.ends.length);
      pending += n - start;
    }));
  }
  await Promise.all(pushes);
  const last = await s.finish();
  expect(last !== null).toBe(pending > 0);
  if (last) {
    lens.push(pending);
    digests.push(last.toString('hex'));
  }
  return { lens, digests };
}

function viaWhole(data: Buffer) {
  const cuts = native.cutAll(data);
  const lens: number[] = [];
  const digests: string[] = [];
  let start = 0;
  for (let k = 0; k < cuts.ends.length; k++) {
    lens.push(cuts.ends[k]! - start);
    start = cuts.ends[k]!;
    digests.push(cuts.hashes.subarray(32 * k, 32 * k + 32).toString('hex'));
  }
  return { lens, digests };
}

describe('native chunker: same cuts and hashes as the JS chunker', () => {
  const data = randomData(6 * 1024 * 1024 + 12_345, 7);
  const ref = reference(data);

  it('the reference itself has many chunks of the usual sizes', () => {
    expect(ref.lens.length).toBeGreaterThan(200);
    expect(ref.lens.reduce((a, b) => a + b, 0)).toBe(data.length);
  });

  it('whole buffer, sync and async', async () => {
    expect(viaWhole(data)).toEqual(ref);
    const cuts = await native.cutAllAsync(data);
    expect(Array.from(cuts.ends)).toEqual(viaWhole(data).lens.reduce<number[]>((a, l) => [...a, (a.at(-1) ?? 0) + l], []));
  });

  it('streams in pool-sized, odd, tiny and huge blocks', async () => {
    for (const sizes of [[1 << 20], [65_536], [4096], [1000, 7, 65_537, 3], [data.length]]) {
      expect(await viaStream(data, sizes)).toEqual(ref);
    }
  });

  it('reads blocks backed by a SharedArrayBuffer (the pool) in place', async () => {
    expect(await viaStream(data, [1 << 20], native, true)).toEqual(ref);
  });

  it('1-byte and 13-byte blocks', async () => {
    // One thread-pool trip per block: 1-byte blocks take 2-5 s on a slow VM (each trip costs tens of µs there).
    const small = data.subarray(0, 150_000);
    const want = reference(small);
    expect(want.lens.length).toBeGreaterThan(5);
    expect(await viaStream(small, [1])).toEqual(want);
    expect(await viaStream(small, [13])).toEqual(want);
  }, 30_000);

  it('every split point of a few MiB at random places', async () => {
    const r = rng(99);
    for (let t = 0; t < 25; t++) {
      const cuts = new Set<number>();
      const k = 1 + (r() % 12);
      for (let j = 0; j < k; j++) cuts.add(r() % data.length);
      const points = [...cuts].sort((a, b) => a - b);
      const sizes = points.map((p, j) => p - (j ? points[j - 1]! : 0)).filter((n) => n > 0);
      sizes.push(data.length - (points.at(-1) ?? 0));
      const s = native.open();
      const lens: number[] = [];
      let pending = 0;
      let o = 0;
      for (const n of sizes) {
        const c = await s.push(data.subarray(o, o + n));
        let start = 0;
        for (const e of c.ends) { lens.push(pending + e - start); pending = 0; start = e; }
        pending += n - start;
        o += n;
      }
      if (await s.finish()) lens.push(pending);
      expect(lens).toEqual(ref.lens);
    }
  });

  it('empty input: no chunks', async () => {
    expect(viaWhole(Buffer.alloc(0))).toEqual({ lens: [], digests: [] });
    const s = native.open();
    expect(Array.from((await s.push(Buffer.alloc(0))).ends)).toEqual([]);
    expect(await s.finish()).toBeNull();
  });

  it('inputs shorter than minSize, and exactly minSize', async () => {
    for (const n of [1, 63, 4095, 4096, 4097]) {
      const d = data.subarray(0, n);
      expect(viaWhole(d)).toEqual(reference(d));
      expect(await viaStream(d, [1000])).toEqual(reference(d));
    }
  });

  it('zero runs cut at maxSize', async () => {
    const zeros = Buffer.alloc(1024 * 1024 + 5);
    const ref0 = reference(zeros);
    expect(ref0.lens.slice(0, -1).every((l) => l === CHUNKER_V1.maxSize)).toBe(true);
    expect(viaWhole(zeros)).toEqual(ref0);
    expect(await viaStream(zeros, [CHUNKER_V1.maxSize])).toEqual(ref0);
    expect(await viaStream(zeros, [CHUNKER_V1.maxSize - 1, CHUNKER_V1.maxSize + 1])).toEqual(ref0);
  });

  it('chunks ending exactly at block ends', async () => {
    // Blocks that end exactly where the reference cuts: each push ends with a cut and carries nothing.
    const sizes: number[] = [];
    let acc = 0;
    for (let k = 0; k < 40; k++) { sizes.push(ref.lens[k]!); acc += ref.lens[k]!; }
    const part = data.subarray(0, acc);
    const s = native.open();
    let o = 0;
    for (let k = 0; k < sizes.length; k++) {
      const c = await s.push(part.subarray(o, o + sizes[k]!));
      expect(Array.from(c.ends)).toEqual([sizes[k]]);
      expect(c.hashes.toString('hex')).toBe(ref.digests[k]);
      o += sizes[k]!;
    }
    expect(await s.finish()).toBeNull();
  });

  it('mixed data: random, zeros, repeats (fuzz, fixed seed)', async () => {
    const r = rng(2026);
    for (let t = 0; t < 30; t++) {
      const parts: Buffer[] = [];
      const k = 1 + (r() % 6);
      for (let j = 0; j < k; j++) {
        const n = r() % 200_000;
        const kind = r() % 3;
        parts.push(kind === 0 ? randomData(n, r()) : kind === 1 ? Buffer.alloc(n, r() & 0xff) : Buffer.alloc(n, 'strata'));
      }
      const d = Buffer.concat(parts);
      const want = reference(d);
      expect(viaWhole(d)).toEqual(want);
      const sizes = Array.from({ length: 1 + (r() % 5) }, () => 1 + (r() % 150_000));
      expect(await viaStream(d, sizes)).toEqual(want);
    }
  });

  it('other parameters come from JS (one source of truth)', async () => {
    const params: ChunkerParams = { minSize: 256, normalSize: 1024, maxSize: 4096, maskS: (0xffffffff << 22) | 0, maskL: (0xffffffff << 26) | 0 };
    const h = createNativeHasher(params);
    const d = data.subarray(0, 500_000);
    const want = reference(d, params);
    expect(want.lens.length).toBeGreaterThan(100);
    expect(await viaStream(d, [3000, 77], h)).toEqual(want);
    const s = new Chunker(params);
    expect(s.push(d).length).toBe(want.lens.length - (s.pending ? 1 : 0));
  });

  it('sha256Many: a list, or one buffer and its ends', async () => {
    const list = [data.subarray(0, 10), data.subarray(10, 5000), Buffer.alloc(0), data.subarray(5000, 70_000)];
    const want = list.map(sha).join('');
    expect(addon.sha256Many(list).toString('hex')).toBe(want);
    const ends = Uint32Array.of(10, 5000, 5000, 70_000);
    expect(addon.sha256Many(data, ends).toString('hex')).toBe(want);
    expect((await native.sha256Many(data, ends)).toString('hex')).toBe(want);
  });
});

describe('native addon: bad arguments are errors, not crashes', () => {
  const params = addon.createParams(GEAR, 4096, 16384, 65536, CHUNKER_V1.maskS, CHUNKER_V1.maskL);

  it('createParams checks the gear table and the sizes', () => {
    expect(() => addon.createParams(new Int32Array(10), 4096, 16384, 65536, 0, 0)).toThrow(/256/);
    expect(() => (addon.createParams as (...a: unknown[]) => unknown)('x', 4096, 16384, 65536, 0, 0)).toThrow(TypeError);
    expect(() => addon.createParams(GEAR, 16384, 4096, 65536, 0, 0)).toThrow(/invalid chunker sizes/);
    expect(() => addon.createParams(GEAR, 1, 2, 3, 0, 0)).toThrow(RangeError);
    expect(() => addon.createParams(GEAR, 4096.5, 16384, 65536, 0, 0)).toThrow(/minSize/);
    expect(() => (addon.createParams as (...a: unknown[]) => unknown)(GEAR, 4096)).toThrow(/6 arguments/);
  });

  it('handles are checked by tag: a stream is not params, an object is neither', async () => {
    const s = addon.streamOpen(params);
    const any = addon as unknown as Record<string, (...a: unknown[]) => unknown>;
    expect(() => any.streamOpen!(s)).toThrow(/not a handle/);
    expect(() => any.streamOpen!({})).toThrow(/not a handle/);
    expect(() => any.chunkHash!(s, Buffer.alloc(1))).toThrow(/not a handle/);
    expect(() => any.streamPush!(params, Buffer.alloc(1))).toThrow(/not a handle/);
    expect(() => any.streamFinish!(42)).toThrow(/not a handle/);
    expect(() => any.streamFinish!()).toThrow(TypeError);
  });

  it('buffers must be bytes', () => {
    const s = addon.streamOpen(params);
    const any = addon as unknown as Record<string, (...a: unknown[]) => unknown>;
    expect(() => any.streamPush!(s, 'text')).toThrow(/Buffer or Uint8Array/);
    expect(() => any.streamPush!(s, new Uint16Array(4))).toThrow(/Buffer or Uint8Array/);
    expect(() => any.chunkHash!(params, null)).toThrow(/Buffer or Uint8Array/);
    expect(() => any.sha256Many!([Buffer.alloc(1), 'x'])).toThrow(/item 1/);
    expect(() => any.sha256Many!(Buffer.alloc(4), [1, 2])).toThrow(/Uint32Array/);
    expect(() => any.sha256Many!()).toThrow(TypeError);
  });

  it('sha256Many rejects ends out of order or past the buffer', () => {
    expect(() => addon.sha256Many(Buffer.alloc(10), Uint32Array.of(5, 3))).toThrow(/out of order/);
    expect(() => addon.sha256Many(Buffer.alloc(10), Uint32Array.of(11))).toThrow(RangeError);
  });

  it('overlapping raw pushes on one stream are refused (the wrapper queues them)', async () => {
    const s = addon.streamOpen(params);
    const p = addon.streamPush(s, Buffer.alloc((1 << 20) + 100)); // 16 max-size chunks and 100 bytes pending
    expect(() => addon.streamPush(s, Buffer.alloc(10))).toThrow(/not settled/);
    expect(() => addon.streamFinish(s)).toThrow(/not settled/);
    await p;
    expect(addon.streamFinish(s)).not.toBeNull();
  });
});
