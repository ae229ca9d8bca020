/**
 * Membership and index lookups on sorted tables compare the first four key
 * bytes in JS before the full native compare: keys that share those bytes
 * (and differ later, even in the last byte) and keys that differ only there
 * must still be told apart, resident in memory or read from disk.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ChunkStore } from '../../server/src/chunk-store/index.js';
import { rawChunk, tempDir } from './helpers.js';

/** Hashes in families: same first 4 bytes, differing after; and same tail, differing in the first 4 bytes. */
function trickyHashes(): Buffer[] {
  const out: Buffer[] = [];
  for (let f = 0; f < 64; f++) {
    const head = randomBytes(4);
    const tail = randomBytes(28);
    for (let k = 0; k < 8; k++) {
      const a = Buffer.concat([head, tail]);
      a[31] = k; // only the last byte differs
      out.push(a);
      const b = Buffer.concat([head, randomBytes(28)]);
      out.push(b);
      const c = Buffer.concat([randomBytes(4), tail]);
      out.push(c);
    }
  }
  return out;
}

describe('sorted-table lookups', () => {
  it('ref-list has() answers exactly for keys that share or differ only in their first four bytes', async () => {
    const s = await ChunkStore.open(tempDir());
    const all = trickyHashes();
    const inList = all.filter((_, i) => i % 2 === 0);
    const notIn = all.filter((_, i) => i % 2 === 1);
    await s.refs.write('p', inList);
    const list = await s.refs.open('p');
    for (const h of inList) expect(list.has(h)).toBe(true);
    for (const h of notIn) expect(list.has(h)).toBe(false);
    // one byte off at the end or at the start of a present key
    for (const h of inList.slice(0, 50)) {
      const end = Buffer.from(h);
      end[31] = end[31]! ^ 0x80;
      const start = Buffer.from(h);
      start[3] = start[3]! ^ 0x01;
      if (!inList.some((x) => x.equals(end))) expect(list.has(end)).toBe(false);
      if (!inList.some((x) => x.equals(start))) expect(list.has(start)).toBe(false);
    }
    list.close();
    await s.close();
  });

  it('index runs find every stored chunk and nothing else after compaction', async () => {
    const dir = tempDir();
    const s = await ChunkStore.open(dir, { indexMergeThreshold: 64, packTargetSize: 16 * 1024 });
    const chunks = Array.from({ length: 600 }, () => rawChunk(randomBytes(200)));
    await s.putMany(chunks);
    await s.flush();
    await s.compactIndex(true);
    for (const c of chunks) expect(s.locate(c.hash)).toBeDefined();
    for (const h of trickyHashes()) expect(s.locate(h)).toBeUndefined();
    for (const c of chunks.slice(0, 40)) {
      const near = Buffer.from(c.hash);
      near[31] = near[31]! ^ 1;
      expect(s.locate(near)).toBeUndefined();
    }
    await s.close();
  });
});
