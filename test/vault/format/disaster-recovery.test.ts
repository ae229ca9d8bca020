/** Disaster recovery: a brand-new server with only the vault's backend and the passphrase lists every point and reads its chunks. */
import { describe, expect, it } from 'vitest';
import { KnownChunks, openVault, uploadPoint, VaultReader } from '../../../server/src/vault/index.js';
import { addPoint, freshVault, makeChunk, openKnown, openStore, PASS, pointInput, refsOf, tempDir } from './helpers.js';

describe('disaster recovery', () => {
  it('attaches with the passphrase and an empty data dir, lists every point and restores every chunk', async () => {
    const store = await openStore();
    const a = Array.from({ length: 10 }, () => makeChunk(5000, { zstd: true, compressible: true }));
    const b = Array.from({ length: 10 }, () => makeChunk(7000));
    const raws = new Map([...(await addPoint(store, 'p1', a)), ...(await addPoint(store, 'p2', [...a.slice(5), ...b]))]);
    const { vault, local } = await freshVault();
    const known = await openKnown(vault);
    for (const [id, root] of [['p1', a[0]], ['p2', b[0]]] as const) {
      await uploadPoint({
        vault, known, store, point: { ...pointInput(id, [root.chunk.hash]), extra: { dataSourceName: 'C:\\Users' } },
        refs: await refsOf(store, id), packSize: 16 << 10,
      });
    }
    await store.close();

    // the new server: the same backend, the passphrase, nothing else
    const v2 = await openVault(local, PASS);
    const k2 = await KnownChunks.open(tempDir(), v2.id);
    expect(await k2.rebuild(v2)).toEqual({ packs: known.packCount, chunks: 20 });
    const reader = new VaultReader(v2, k2);
    const points = [];
    for await (const p of reader.listPoints()) points.push(p);
    expect(points.map((p) => [p.id, p.chunks, p.extra])).toEqual([
      ['p1', 10, { dataSourceName: 'C:\\Users' }], ['p2', 15, { dataSourceName: 'C:\\Users' }],
    ]);
    expect(points[1].root).toEqual([b[0].chunk.hash.toString('hex')]);
    for (const [hex, raw] of raws) expect((await reader.readChunk(Buffer.from(hex, 'hex'))).equals(raw)).toBe(true);
    // the refs of p2 are exactly the ids of its chunks
    const ids = (await reader.pointRefs('p2')).map((x) => x.toString('hex')).sort();
    expect(ids).toEqual([...a.slice(5), ...b].map((c) => v2.chunkId(c.chunk.hash).toString('hex')).sort());
    await k2.close();
  });
});
