/** Vault verification reads everything back and reports damage (never throws for it). */
import { describe, expect, it } from 'vitest';
import { uploadPoint, verifyVault } from '../../../server/src/vault/index.js';
import { addPoint, flipByte, freshVault, makeChunk, openKnown, openStore, pointInput, refsOf } from './helpers.js';

async function setup() {
  const store = await openStore();
  const chunks = [...Array.from({ length: 12 }, () => makeChunk(5000)), ...Array.from({ length: 6 }, () => makeChunk(9000, { compressible: true, zstd: true }))];
  await addPoint(store, 'p1', chunks);
  await addPoint(store, 'p2', chunks.slice(0, 4));
  const { vault } = await freshVault();
  const known = await openKnown(vault);
  for (const id of ['p1', 'p2']) await uploadPoint({ vault, known, store, point: pointInput(id, []), refs: await refsOf(store, id), packSize: 24 << 10 });
  return { vault, known, chunks };
}

describe('verifyVault', () => {
  it('a sound vault verifies clean', async () => {
    const { vault, known } = await setup();
    const r = await verifyVault(vault, known);
    expect(r).toMatchObject({ chunks: 18, points: 2, damaged: [] });
    expect(r.packs).toBe(known.packCount);
  });

  it('reports a damaged blob, a missing pack, a damaged index and the points they hurt', async () => {
    const { vault, known, chunks } = await setup();
    const l0 = known.get(vault.chunkId(chunks[0].chunk.hash))!;
    const key0 = `packs/${l0.packId.slice(0, 2)}/${l0.packId}`;
    await flipByte(vault.backend, key0, l0.offset + 30);
    // refs are in hash order, so which chunks share a pack is random: take one from another pack
    const l17 = chunks.map((c) => known.get(vault.chunkId(c.chunk.hash))!).find((l) => l.packId !== l0.packId)!;
    await vault.backend.delete(`packs/${l17.packId.slice(0, 2)}/${l17.packId}`);
    const r = await verifyVault(vault, known);
    expect(r.damaged).toContainEqual({ key: key0, chunk: vault.chunkId(chunks[0].chunk.hash).toString('hex'), reason: 'authentication failed (AES-GCM tag mismatch)' });
    expect(r.damaged).toContainEqual({ key: `packs/${l17.packId.slice(0, 2)}/${l17.packId}`, reason: 'missing pack' });
    expect(r.damaged.filter((d) => d.key.startsWith('points/')).map((d) => d.key).sort()).toEqual(['points/p1', 'points/p2']);

    // metadata-only: the flipped blob goes unnoticed, the missing pack does not
    const quick = await verifyVault(vault, known, { readData: false });
    expect(quick.damaged.some((d) => d.reason === 'missing pack')).toBe(true);
    expect(quick.damaged.some((d) => d.chunk)).toBe(false);

    const l5 = known.get(vault.chunkId(chunks[5].chunk.hash))!;
    await flipByte(vault.backend, `index/${l5.packId}`, 40);
    const r2 = await verifyVault(vault, known, { readData: false });
    expect(r2.damaged.find((d) => d.key === `index/${l5.packId}`)!.reason).toMatch(/damaged or was tampered with/);
  });
});
