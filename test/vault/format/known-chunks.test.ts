/** The local known-chunks log: rebuilt from the vault's index objects, crash-tolerant, bound to one vault; packs describe themselves. */
import { promises as fsp } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PACK_FOOTER_SIZE } from '../../../server/src/vault/format.js';
import { decodeIndex } from '../../../server/src/vault/index-format.js';
import { KnownChunks, uploadPoint } from '../../../server/src/vault/index.js';
import { readIndex } from '../../../server/src/vault/known-chunks.js';
import { openPackTrailer, packKey, parsePackFooter } from '../../../server/src/vault/pack-format.js';
import { addPoint, freshVault, makeChunk, openKnown, openStore, pointInput, refsOf, tempDir } from './helpers.js';

async function uploaded() {
  const store = await openStore();
  await addPoint(store, 'p1', Array.from({ length: 25 }, () => makeChunk(6000)));
  await addPoint(store, 'p2', Array.from({ length: 12 }, () => makeChunk(9000, { compressible: true })));
  const { vault } = await freshVault();
  const known = await openKnown(vault);
  for (const id of ['p1', 'p2']) {
    await uploadPoint({ vault, known, store, point: pointInput(id, []), refs: await refsOf(store, id), packSize: 40 << 10 });
  }
  return { vault, known };
}

describe('known chunks', () => {
  it('rebuilt from the index objects equals the one the uploads recorded', async () => {
    const { vault, known } = await uploaded();
    expect(known.chunkCount).toBe(37);
    expect(known.packCount).toBeGreaterThan(3);
    const rebuilt = await openKnown(vault);
    expect(rebuilt.needsSync).toBe(true);
    expect(await rebuilt.rebuild(vault)).toEqual({ packs: known.packCount, chunks: 37 });
    expect(new Map(rebuilt.entries())).toEqual(new Map(known.entries()));
    // and what it wrote loads back the same
    await rebuilt.close();
    const again = await openKnown(vault, rebuilt.dir);
    expect(again.needsSync).toBe(false);
    expect(new Map(again.entries())).toEqual(new Map(known.entries()));
  });

  it('a torn tail is cut off at open; the packs before it are kept', async () => {
    const { vault, known } = await uploaded();
    const all = new Map(known.entries());
    await known.close();
    const { size } = await fsp.stat(known.file);
    await fsp.truncate(known.file, size - 5);
    const k = await openKnown(vault, known.dir);
    expect(k.packCount).toBe(known.packCount - 1);
    expect(k.needsSync).toBe(true);
    expect(k.chunkCount).toBeLessThan(all.size);
    expect((await fsp.stat(known.file)).size).toBeLessThan(size - 5);
    for (const [hex, l] of k.entries()) expect(all.get(hex)).toEqual(l);
    // the vault still has the lost pack: a sync finds it again
    expect(await k.sync(vault)).toBe(1);
    expect(new Map(k.entries())).toEqual(all);
  });

  it("another vault's log is discarded (and must be synced)", async () => {
    const { known } = await uploaded();
    await known.close();
    const otherId = 'ff'.repeat(16);
    const k = await KnownChunks.open(known.dir, otherId);
    expect(k.chunkCount).toBe(0);
    expect(k.needsSync).toBe(true);
    await k.close();
  });

  it('every pack carries its own index in its trailer, equal to its index object', async () => {
    const { vault, known } = await uploaded();
    for (const packId of new Set([...known.entries()].map(([, l]) => l.packId))) {
      const key = packKey(packId);
      const size = (await vault.backend.head(key))!.size;
      const footer = parsePackFooter(await vault.backend.get(key, { offset: size - PACK_FOOTER_SIZE, length: PACK_FOOTER_SIZE }));
      if (typeof footer === 'string') throw new Error(footer);
      const trailer = await vault.backend.get(key, { offset: size - PACK_FOOTER_SIZE - footer.trailerLength, length: footer.trailerLength });
      const fromPack = openPackTrailer(vault.keys, packId, trailer);
      const fromIndex = decodeIndex(await readIndex(vault, packId), packId);
      expect(fromPack).toEqual(fromIndex);
      expect(typeof fromPack !== 'string' && fromPack.packSize).toBe(size);
      expect(typeof fromPack !== 'string' && fromPack.entries.length).toBe(footer.count);
    }
  });

  it('keeps its files private and its directory where it was told', async () => {
    const { vault } = await freshVault();
    const dir = tempDir();
    const k = await openKnown(vault, dir);
    expect((await fsp.stat(k.file)).mode & 0o777).toBe(0o600);
    expect(k.file.startsWith(dir)).toBe(true);
  });
});

describe('known chunks dirty marker', () => {
  it('stays while any upload runs and after any failed one, until a sync', async () => {
    const { vault } = await freshVault();
    const k = await openKnown(vault);
    expect(k.needsSync).toBe(true);
    await k.sync(vault);
    k.beginUpload();
    k.beginUpload();
    await k.markDirty();
    await k.endUpload(false);
    await k.endUpload(true);
    await expect(fsp.access(k.dirtyFile)).resolves.toBeUndefined();
    expect(k.needsSync).toBe(true);
    await k.sync(vault);
    k.beginUpload();
    await k.endUpload(true);
    await expect(fsp.access(k.dirtyFile)).rejects.toThrow();
  });
});
