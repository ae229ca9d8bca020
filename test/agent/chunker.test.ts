import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CHUNKER_V1, Chunker, GEAR, chunkBuffer } from '../../agent/src/chunker/index.js';

const KiB = 1024;
/** Reproducible bytes: AES-128-CTR keystream under a fixed key (any language can regenerate it). */
const seeded = (n: number) => createCipheriv('aes-128-ctr', Buffer.from('strata-chunker-1'), Buffer.alloc(16)).update(Buffer.alloc(n));
const sizes = (cs: Buffer[]) => cs.map((c) => c.length);
const hashes = (cs: Buffer[]) => cs.map((c) => createHash('sha256').update(c).digest('hex'));

describe('chunker', () => {
  it('uses the frozen parameters and gear table', () => {
    expect({ ...CHUNKER_V1 }).toEqual({ minSize: 4096, normalSize: 16384, maxSize: 65536, maskS: 0xfffe0000 | 0, maskL: 0xffe00000 | 0 });
    const table = Buffer.from(GEAR.buffer, GEAR.byteOffset, GEAR.byteLength);
    // Pinned: a change moves every boundary (docs/chunking.md).
    expect(createHash('sha256').update(table).digest('hex')).toBe(GOLDEN_GEAR_SHA256);
    expect(GEAR[0]! >>> 0).toBe(GOLDEN_GEAR_0);
  });

  it('cuts a seeded input at the pinned boundaries', () => {
    const data = seeded(1 << 20);
    expect(sizes(chunkBuffer(data)).slice(0, 12)).toEqual(GOLDEN_SIZES);
  });

  it('gives the same chunks whatever the block sizes pushed', () => {
    const data = randomBytes(3 * 1024 * 1024 + 12345);
    const whole = hashes(chunkBuffer(data));
    for (const block of [1, 4095, 4096, 65536, 65537, 1 << 20]) {
      const c = new Chunker();
      const out: Buffer[] = [];
      const step = block === 1 ? 977 : block; // byte-wise would be slow; 977 exercises odd splits
      for (let o = 0; o < data.length; o += step) out.push(...c.push(data.subarray(o, o + step)));
      out.push(...c.finish());
      expect(hashes(out)).toEqual(whole);
    }
    // random split points, including empty pushes
    const c = new Chunker();
    const out: Buffer[] = [];
    for (let o = 0; o < data.length;) {
      const n = Math.floor(Math.random() * 200_000);
      out.push(...c.push(data.subarray(o, o + n)));
      o += n;
    }
    out.push(...c.finish());
    expect(hashes(out)).toEqual(whole);
    expect(Buffer.concat(out).equals(data)).toBe(true);
  });

  it('respects min and max sizes, also on input without cut points', () => {
    for (const data of [randomBytes(4 << 20), Buffer.alloc(1 << 20), Buffer.alloc(300_000, 0xab)]) {
      const cs = chunkBuffer(data);
      expect(Buffer.concat(cs).equals(data)).toBe(true);
      for (const c of cs.slice(0, -1)) {
        expect(c.length).toBeGreaterThanOrEqual(4 * KiB);
        expect(c.length).toBeLessThanOrEqual(64 * KiB);
      }
      expect(cs.at(-1)!.length).toBeLessThanOrEqual(64 * KiB);
    }
    expect(chunkBuffer(Buffer.alloc(0))).toEqual([]);
    expect(sizes(chunkBuffer(Buffer.alloc(100, 1)))).toEqual([100]);
  });

  it('averages near 16 KiB on random data', () => {
    const cs = chunkBuffer(randomBytes(32 << 20));
    const avg = (32 << 20) / cs.length;
    expect(avg).toBeGreaterThan(14 * KiB);
    expect(avg).toBeLessThan(18 * KiB);
  });

  it('an insertion of a few bytes changes only the chunks around it', () => {
    // Seeded, not random: a new cut inside the edit can make the next cut fall in the
    // following chunk's minimum-size skip, and the shift then runs on for a few chunks
    // (about 1 insertion in 200 here). With random data a fixed "at most 3" failed in CI now
    // and then; on these bytes the whole distribution is pinned and checked.
    const data = seeded(8 << 20);
    const before = new Set(hashes(chunkBuffer(data)));
    const counts: number[] = [];
    for (let k = 0; k < 200; k++) {
      const at = 1 + Math.floor(((k * 0.6180339887) % 1) * (data.length - 2)); // spread over the file
      const edited = Buffer.concat([data.subarray(0, at), Buffer.from('hello'), data.subarray(at)]);
      counts.push(hashes(chunkBuffer(edited)).filter((h) => !before.has(h)).length);
    }
    expect(Math.min(...counts)).toBe(1); // the edited chunk always changes
    expect(Math.max(...counts)).toBeLessThanOrEqual(6); // a cascade dies out within a few chunks
    expect(counts.filter((n) => n === 1).length).toBeGreaterThanOrEqual(190); // nearly always only the edited one
  });

  it('returns views, copying only chunks that span pushes', () => {
    const data = randomBytes(1 << 20);
    const c = new Chunker();
    const first = c.push(data);
    for (const ch of first) expect(ch.buffer).toBe(data.buffer);
    const rest = c.finish();
    expect(Buffer.concat([...first, ...rest]).equals(data)).toBe(true);
  });
});

const GOLDEN_GEAR_SHA256 = '7d020916fd77628afe05f6a8d86b53313cb2badc63cc637e77a604a9044fac56';
const GOLDEN_GEAR_0 = 2778243836;
const GOLDEN_SIZES = [5012, 17207, 18094, 16611, 6885, 18478, 13935, 19300, 17883, 16617, 18102, 14813];
