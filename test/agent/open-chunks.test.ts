/** Verified decompression of a whole restore reply (openChunks): one region for the zstd chunks, each chunk checked. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Compression } from '@strata/protocol';
import { compress as zstd } from 'zstd-napi';
import { sha256 } from '../../agent/src/util/hash.js';
import { openChunks } from '../../agent/src/util/zstd.js';

const text = (n: number) => Buffer.from('all work and no play makes jack a dull boy\n'.repeat(Math.ceil(n / 43))).subarray(0, n);

describe('openChunks (one reply)', () => {
  const raws = [text(10_000), randomBytes(7_000), text(20_001), Buffer.alloc(0), text(3)];
  const hashes = raws.map((r) => sha256(r));
  const reply = () => raws.map((r, i) => (i % 2 === 0 && r.length > 0
    ? { hash: hashes[i]!, compression: Compression.Zstd, rawSize: r.length, data: zstd(r) }
    : { hash: hashes[i]!, compression: Compression.None, rawSize: r.length, data: r }));
  const names = (k: number) => `/f${k}`;

  it('decompresses the zstd chunks into one region, each a view of exactly its bytes; raw chunks stay as received', () => {
    const chunks = reply();
    const out = openChunks(chunks, hashes, names);
    expect(out.map((b) => b.toString('hex'))).toEqual(raws.map((r) => r.toString('hex')));
    expect(out[0]!.buffer).toBe(out[2]!.buffer); // one allocation for the zstd chunks
    expect(out[0]!.buffer).toBe(out[4]!.buffer);
    expect(out[1]!.buffer).toBe(chunks[1]!.data.buffer); // raw: a view of what was received
  });

  it('names the chunk and the file that fail, whichever of the reply it is', () => {
    const bad = reply();
    bad[2] = { ...bad[2]!, data: zstd(text(20_000)), rawSize: 20_000 }; // decompresses fine, to other bytes
    expect(() => openChunks(bad, hashes, names)).toThrow(`chunk ${hashes[2]!.toString('hex')} of /f2 is corrupt`);
    const wrong = reply();
    wrong[4] = { ...wrong[4]!, hash: hashes[0]! };
    expect(() => openChunks(wrong, hashes, names)).toThrow(`chunk ${hashes[4]!.toString('hex')} of /f4: server sent chunk ${hashes[0]!.toString('hex')} instead`);
    const short = reply();
    short[0] = { ...short[0]!, rawSize: 9_999 }; // may not overrun into the next chunk's part of the region
    expect(() => openChunks(short, hashes, names)).toThrow(/of \/f0 (does not decompress|decompresses to)/);
  });
});
