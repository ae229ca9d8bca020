/**
 * An upload sends a point's chunks in chunk-store order (the order the
 * backups wrote them), not in its ref list's SHA-256 order: a restore asks
 * for a file's chunks in sequence, and only chunks that sit together in a
 * vault pack can be read with one ranged GET (services/vault-upload-order.ts).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ChunkStore } from '../../../server/src/chunk-store/index.js';
import { inStoreOrder } from '../../../server/src/services/vault-upload-order.js';
import { rawChunk, tempDir } from '../../store/helpers.js';

describe('inStoreOrder', () => {
  it('yields the ref list in the order the chunks were stored, across packs; unknown chunks last', async () => {
    // Small packs so that the 5 000 chunks span several pack files.
    const store = await ChunkStore.open(tempDir(), { packTargetSize: 64 << 10 });
    try {
      const written: Buffer[] = [];
      for (let i = 0; i < 5000; i++) {
        const c = rawChunk(randomBytes(64 + (i % 50)));
        await store.put(c);
        written.push(c.hash);
      }
      await store.flush();
      const unknown = Buffer.alloc(32, 0xee);
      const refList = [...written, unknown].sort(Buffer.compare); // what a ref list holds: sorted by hash
      const got = [...inStoreOrder(store, refList)].map((h) => Buffer.from(h));
      expect(got.slice(0, 5000).map((h) => h.toString('hex'))).toEqual(written.map((h) => h.toString('hex')));
      expect(got[5000]!.equals(unknown)).toBe(true);
      expect(new Set(written.map((h) => store.locate(h)!.packId)).size).toBeGreaterThan(1);
    } finally {
      await store.close();
    }
  });
});
