/** Chunk compression (inline and in worker threads) and verified decompression. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Compression } from '@strata/protocol';
import { compress as zstd, decompress as unzstd } from 'zstd-napi';
import { sha256 } from '../../agent/src/util/hash.js';
import { InlineCompressor, WorkerCompressor, makeChunk, openChunk } from '../../agent/src/util/zstd.js';

const text = (n: number) => Buffer.from('all work and no play makes jack a dull boy\n'.repeat(Math.ceil(n / 43))).subarray(0, n);

describe('chunk compression', () => {
  it('worker and inline compressors agree: zstd where it saves 3%, raw otherwise', async () => {
    // more than one 2 MiB slot, and one chunk larger than a slot (compressed inline)
    const raws = [text(16_000), randomBytes(16_000), Buffer.alloc(0), text(5), ...Array.from({ length: 300 }, (_, i) => (i % 2 ? text(20_000 + i) : randomBytes(20_000))), text(3 << 20)];
    const worker = new WorkerCompressor(2);
    try {
      const [a, b] = await Promise.all([worker.compress(raws), new InlineCompressor().compress(raws)]);
      expect(a.length).toBe(raws.length);
      for (let i = 0; i < raws.length; i++) {
        expect(a[i] === null).toBe(b[i] === null);
        if (raws[i]!.length > 1 << 20) { expect(unzstd(a[i]!).equals(raws[i]!)).toBe(true); continue; } // beyond MAX_CHUNK_BYTES
        const chunk = makeChunk(sha256(raws[i]!), raws[i]!, a[i]!);
        expect(openChunk(chunk, sha256(raws[i]!), 'test').equals(raws[i]!)).toBe(true);
      }
      expect(a[0]).not.toBeNull();
      expect(a[1]).toBeNull();
      expect(a[2]).toBeNull();
      expect(a[3]).toBeNull(); // 5 bytes do not shrink
      expect(a.at(-1)!.length).toBeLessThan(100_000);
    } finally {
      await worker.close();
    }
  });

  it('a closed pool refuses work', async () => {
    const worker = new WorkerCompressor(1);
    await worker.close();
    await expect(worker.compress([text(100)])).rejects.toThrow(/closed/);
  });
});

describe('openChunk', () => {
  const raw = text(10_000);
  const hash = sha256(raw);

  it('checks the hash, the frame and the declared size', () => {
    expect(openChunk({ hash, compression: Compression.Zstd, rawSize: raw.length, data: zstd(raw) }, hash, 'f').equals(raw)).toBe(true);
    const flipped = Buffer.from(raw);
    flipped[5] ^= 1;
    expect(() => openChunk({ hash, compression: Compression.None, rawSize: raw.length, data: flipped }, hash, '/a/f'))
      .toThrow(`chunk ${hash.toString('hex')} of /a/f is corrupt: its bytes hash to ${sha256(flipped).toString('hex')}`);
    expect(() => openChunk({ hash, compression: Compression.Zstd, rawSize: raw.length, data: Buffer.from('not zstd') }, hash, 'f')).toThrow(/does not decompress/);
    expect(() => openChunk({ hash, compression: Compression.Zstd, rawSize: 100, data: zstd(raw) }, hash, 'f')).toThrow(/does not decompress|decompresses to/);
    expect(() => openChunk({ hash, compression: Compression.Zstd, rawSize: 2 << 20, data: zstd(raw) }, hash, 'f')).toThrow(/out of range/);
    expect(() => openChunk({ hash: sha256(Buffer.from('x')), compression: Compression.None, rawSize: raw.length, data: raw }, hash, 'f')).toThrow(/server sent chunk/);
    expect(() => openChunk({ hash, compression: 7 as Compression, rawSize: raw.length, data: raw }, hash, 'f')).toThrow(/unknown compression/);
  });
});
