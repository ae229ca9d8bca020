/**
 * Batch reads (VaultReader.readChunksBatch): the chunks of a point read back
 * as a batch equal readChunk one by one, with far fewer range GETs than
 * chunks (blobs close together in a pack merged into one GET); a damaged blob
 * inside a merged range fails with readChunk's own error while its neighbours
 * still read; a pack cut short fails only the chunks it cuts off; the plan
 * respects the gap and range limits. Merging needs blobs in the order they
 * are asked for: packs written in the ref list's (SHA-256) order, as the
 * upload job writes them today, give a restore's requests little to merge.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { type KnownChunks, uploadPoint, type Vault, VaultChunkNotFoundError, VaultCorruptError, VaultReader } from '../../../server/src/vault/index.js';
import { planBatch } from '../../../server/src/vault/reader.js';
import { addPoint, FaultyBackend, flipByte, freshVault, makeChunk, openKnown, openStore, pointInput, refsOf, sha } from './helpers.js';

let vault: Vault;
let faulty: FaultyBackend;
let known: KnownChunks;
let reader: VaultReader;
let raws: Map<string, Buffer>;
let hashes: Buffer[];

const N = 300;

beforeEach(async () => {
  const store = await openStore();
  // small chunks, some compressible (zstd blobs of other sizes), so a pack holds many
  const chunks = Array.from({ length: N }, (_, i) => makeChunk(2048 + (i % 7) * 512, { compressible: i % 3 === 0, zstd: i % 3 === 0 }));
  raws = await addPoint(store, 'p1', chunks);
  hashes = chunks.map((c) => c.chunk.hash);
  ({ vault } = await freshVault((b) => (faulty = new FaultyBackend(b))));
  known = await openKnown(vault);
  await uploadPoint({ vault, known, store, point: pointInput('p1', [hashes[0]]), refs: await refsOf(store, 'p1'), packSize: 256 << 10 });
  reader = new VaultReader(vault, known);
});

const loc = (h: Buffer) => known.get(vault.chunkId(h))!;
const packOf = (h: Buffer) => `packs/${loc(h).packId.slice(0, 2)}/${loc(h).packId}`;
/** The chunks of the pack holding the most of them, in pack order. */
function fullestPack(): Buffer[] {
  const by = new Map<string, Buffer[]>();
  for (const h of hashes) by.set(loc(h).packId, [...(by.get(loc(h).packId) ?? []), h]);
  return [...by.values()].sort((a, b) => b.length - a.length)[0]!.sort((a, b) => loc(a).offset - loc(b).offset);
}
const packGets = () => faulty.gets.filter((g) => g.key.startsWith('packs/')).length;

describe('readChunksBatch', () => {
  it('a point of many small chunks read as a batch equals readChunk one by one, with far fewer GETs', async () => {
    const packs = new Set(hashes.map((h) => loc(h).packId));
    expect(packs.size).toBeGreaterThan(1);
    // shuffled, with a duplicate: the result is in the order asked
    const asked = [...hashes].sort(() => Math.random() - 0.5);
    asked.splice(10, 0, asked[3]!);
    const before = packGets();
    const got = await reader.readChunksBatch(asked);
    const batchGets = packGets() - before;
    expect(got.length).toBe(asked.length);
    got.forEach((data, i) => expect(data.equals(raws.get(asked[i]!.toString('hex'))!)).toBe(true));
    // one GET per pack here (each pack ≤ 256 KiB, every blob asked for)
    expect(batchGets).toBe(packs.size);
    expect(batchGets).toBeLessThan(asked.length / 20);

    const one = packGets();
    for (let i = 0; i < 40; i++) expect((await reader.readChunk(asked[i]!)).equals(got[i]!)).toBe(true);
    expect(packGets() - one).toBe(40);
    expect(await reader.readChunksBatch([])).toEqual([]);
  });

  it('merges only blobs within the gap, into ranges within the limit', async () => {
    const inPack = fullestPack();
    expect(inPack.length).toBeGreaterThan(20);
    // every other blob, no gap allowed: one GET per blob asked
    const sparse = inPack.filter((_, i) => i % 2 === 0);
    let before = packGets();
    const got = await reader.readChunksBatch(sparse, undefined, { maxGap: 0 });
    expect(packGets() - before).toBe(sparse.length);
    got.forEach((d, i) => expect(sha(d).equals(sparse[i]!)).toBe(true));
    // the same with a gap allowed: one GET
    before = packGets();
    await reader.readChunksBatch(sparse, undefined, { maxGap: 16 << 10 });
    expect(packGets() - before).toBe(1);
    // ranges capped at ~4 blobs: each GET within the cap
    const cap = 4 * 4096;
    before = faulty.gets.length;
    await reader.readChunksBatch(inPack, undefined, { maxRange: cap });
    const ranges = faulty.gets.slice(before).filter((g) => g.key.startsWith('packs/'));
    const span = loc(inPack.at(-1)!).offset + loc(inPack.at(-1)!).length - loc(inPack[0]!).offset;
    expect(ranges.length).toBeGreaterThanOrEqual(Math.ceil(span / cap));
    expect(ranges.length).toBeLessThan(inPack.length);
    for (const r of ranges) expect(r.range!.length).toBeLessThanOrEqual(cap);

    const plan = planBatch(inPack.map((h, i) => ({ i, loc: loc(h) })), 0, 1 << 20);
    expect(plan.length).toBe(1); // blobs are contiguous in a pack
    expect(plan[0]!.items.length).toBe(inPack.length);
  });

  it('a flipped byte inside one blob of a merged range fails that read with the corrupt error; its neighbours still read', async () => {
    const inPack = fullestPack();
    const bad = inPack[5]!;
    await flipByte(vault.backend, packOf(bad), loc(bad).offset + 40);
    const single = await reader.readChunk(bad).then(() => null, (e: unknown) => e as VaultCorruptError);
    expect(single).toBeInstanceOf(VaultCorruptError);
    const before = packGets();
    const err = await reader.readChunksBatch(inPack).then(() => null, (e: unknown) => e as VaultCorruptError);
    expect(packGets() - before).toBe(1);
    expect(err).toBeInstanceOf(VaultCorruptError);
    expect(err!.message).toBe(single!.message);
    expect(err!.message).toContain('authentication failed');
    expect(err!.message).toContain(bad.toString('hex'));
    const settled = await reader.readChunksSettled(inPack);
    settled.forEach((r, i) => {
      if (i === 5) expect(r).toBeInstanceOf(VaultCorruptError);
      else expect((r as Buffer).equals(raws.get(inPack[i]!.toString('hex'))!)).toBe(true);
    });
  });

  it('a missing pack, a pack cut short and an unknown chunk fail as readChunk fails; the cut-off chunks only', async () => {
    const inPack = fullestPack();
    const key = packOf(inPack[0]!);
    const data = await vault.backend.get(key);
    const cut = 10;
    await vault.backend.put(key, data.subarray(0, loc(inPack[cut]!).offset + 10));
    const settled = await reader.readChunksSettled(inPack);
    settled.forEach((r, i) => {
      if (i < cut) expect((r as Buffer).equals(raws.get(inPack[i]!.toString('hex'))!)).toBe(true);
      else expect((r as Error).message).toContain('pack shorter than its index says');
    });
    await vault.backend.delete(key);
    const err = await reader.readChunksBatch([inPack[0]!, inPack[1]!]).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(VaultCorruptError);
    expect((err as Error).message).toContain('missing pack');
    const other = hashes.find((h) => loc(h).packId !== loc(inPack[0]!).packId)!;
    const unknown = sha(Buffer.from('not in the vault'));
    await expect(reader.readChunksBatch([other, unknown])).rejects.toBeInstanceOf(VaultChunkNotFoundError);
  });

  it('requests of consecutive file chunks merge when the packs hold blobs in file order, hardly when in hash order', async () => {
    // What a restore asks (~1 MiB of the files' chunks per agent request, in file order) against the two layouts
    // uploadPoint can write: the ref list's order (sorted by SHA-256: what the upload job does today) or file order.
    const store = await openStore();
    const chunks = Array.from({ length: 600 }, (_, i) => makeChunk(6000 + (i % 13) * 1500));
    await addPoint(store, 'files', chunks);
    const fileOrder = chunks.map((c) => c.chunk.hash);
    const gets: Record<string, number> = {};
    let packs = 0;
    for (const layout of ['hash', 'file']) {
      let f!: FaultyBackend;
      const { vault: v } = await freshVault((b) => (f = new FaultyBackend(b)));
      const k = await openKnown(v);
      const refs = layout === 'file' ? fileOrder : await refsOf(store, 'files');
      await uploadPoint({ vault: v, known: k, store, point: pointInput('files', [fileOrder[0]!]), refs, packSize: 1 << 20 });
      const r = new VaultReader(v, k);
      const before = f.gets.length;
      // scaled down from the 256 MiB bench (12 907 chunks in 9 packs of ~17 MB, ~50 chunks a request, 256 KiB gap)
      for (let i = 0; i < fileOrder.length; i += 20) {
        const req = fileOrder.slice(i, i + 20);
        (await r.readChunksBatch(req, undefined, { maxGap: 32 << 10 })).forEach((d, j) => expect(sha(d).equals(req[j]!)).toBe(true));
      }
      gets[layout] = f.gets.slice(before).filter((g) => g.key.startsWith('packs/')).length;
      if (layout === 'file') packs = new Set(fileOrder.map((h) => k.get(v.chunkId(h))!.packId)).size;
    }
    console.log(`batch reads of 20-chunk requests: ${gets.hash} GETs in hash order, ${gets.file} in file order (600 chunks, ${packs} packs)`);
    expect(packs).toBeGreaterThan(4);
    expect(gets.file).toBeLessThanOrEqual(30 + packs - 1); // one GET per request, two where a request spans two packs
    expect(gets.hash).toBeGreaterThan(600 * 0.7); // mostly one GET per chunk
  });

  it('an aborted signal rejects the call', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(reader.readChunksBatch(hashes.slice(0, 5), ac.signal)).rejects.toThrow();
  });
});
