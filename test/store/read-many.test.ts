/** getStoredMany: neighbouring records read together, each still verified; order kept; damage and absence reported as by getStored. */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChunkCorruptError, ChunkNotFoundError, ChunkStore } from '../../server/src/chunk-store/index.js';
import { rawChunk, sha, tempDir, textBytes, zstdChunk } from './helpers.js';

function packFiles(dir: string): string[] {
  const out: string[] = [];
  for (const sub of readdirSync(path.join(dir, 'packs'))) {
    for (const f of readdirSync(path.join(dir, 'packs', sub))) if (f.endsWith('.pack')) out.push(path.join(dir, 'packs', sub, f));
  }
  return out.sort();
}

describe('ChunkStore.getStoredMany', () => {
  it('returns the stored forms in the order asked, across packs, flushed or not, with duplicates', async () => {
    const s = await ChunkStore.open(tempDir(), { packTargetSize: 64 * 1024 });
    const chunks = Array.from({ length: 60 }, (_, i) => (i % 3 ? rawChunk(randomBytes(3000 + i)) : zstdChunk(textBytes(i, 9000))));
    for (const c of chunks.slice(0, 50)) await s.put(c);
    await s.flush();
    for (const c of chunks.slice(50)) await s.put(c); // still in the writer's buffer
    const order = [...chunks.keys()].sort(() => Math.random() - 0.5);
    order.push(order[0]!, order[1]!);
    const got = await s.getStoredMany(order.map((i) => chunks[i]!.hash));
    got.forEach((g, k) => {
      const c = chunks[order[k]!]!;
      expect(g.hash).toEqual(c.hash);
      expect(g.compression).toBe(c.compression);
      expect(g.rawSize).toBe(c.rawSize);
      expect(Buffer.from(g.data)).toEqual(c.data);
    });
    await s.close();
  });

  it('reports a damaged record and a missing chunk like getStored', async () => {
    const dir = tempDir();
    let s = await ChunkStore.open(dir);
    const chunks = Array.from({ length: 20 }, () => rawChunk(randomBytes(4000)));
    for (const c of chunks) await s.put(c);
    await s.flush();
    await s.close();
    const [pack] = packFiles(dir);
    const bytes = readFileSync(pack!);
    const at = bytes.indexOf(chunks[7]!.hash) + 32 + 12 + 100;
    bytes[at] = bytes[at]! ^ 0x40;
    writeFileSync(pack!, bytes);
    s = await ChunkStore.open(dir);
    const ok = chunks.filter((_, i) => i !== 7).map((c) => c.hash);
    expect((await s.getStoredMany(ok)).map((g) => Buffer.from(g.data))).toEqual(chunks.filter((_, i) => i !== 7).map((c) => c.data));
    const err = await s.getStoredMany(chunks.map((c) => c.hash)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChunkCorruptError);
    expect((err as Error).message).toContain(chunks[7]!.hash.toString('hex'));
    await expect(s.getStoredMany([chunks[0]!.hash, sha(Buffer.from('absent'))])).rejects.toBeInstanceOf(ChunkNotFoundError);
    await s.close();
  });
});
