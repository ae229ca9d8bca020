/** Uploading recovery points from a real chunk store and reading them back from the vault. */
import { describe, expect, it } from 'vitest';
import { KnownChunks, uploadPoint, type UploadProgress, VaultReader } from '../../../server/src/vault/index.js';
import { addPoint, FaultyBackend, freshVault, makeChunk, openKnown, openStore, pointInput, refsOf, tempDir } from './helpers.js';

describe('uploadPoint', () => {
  it('round-trips a point: every chunk reads back byte-identical by its SHA-256, in packs near the target size', async () => {
    const store = await openStore();
    const chunks = [
      ...Array.from({ length: 40 }, () => makeChunk(16 << 10)),
      ...Array.from({ length: 20 }, () => makeChunk(30 << 10, { compressible: true })),
      ...Array.from({ length: 20 }, () => makeChunk(20 << 10, { compressible: true, zstd: true })),
      makeChunk(0), makeChunk(10),
    ];
    const raws = await addPoint(store, 'p1', chunks);
    const { vault, backend } = await freshVault((b) => new FaultyBackend(b));
    const fb = backend as FaultyBackend;
    const known = await openKnown(vault);
    const seen: UploadProgress[] = [];
    const r = await uploadPoint({
      vault, known, store, point: pointInput('p1', [chunks[0].chunk.hash]), refs: await refsOf(store, 'p1'),
      packSize: 128 << 10, concurrency: 3, onProgress: (p) => seen.push(p),
    });
    expect(r).toMatchObject({ pointId: 'p1', alreadyInVault: false, chunks: 82, chunksSent: 82, chunksSkipped: 0 });
    expect(r.packsSent).toBe(fb.packPuts().length);
    expect(r.packsSent).toBeGreaterThanOrEqual(5);
    expect(seen.at(-1)!.chunksSent).toBe(82);
    // compression happened before encryption: the compressible chunks cost far less than their raw size
    expect(r.bytesSent).toBeLessThan(40 * (16 << 10) + 40 * (4 << 10));
    // order: each pack before its index; refs, then the manifest, last
    const puts = fb.puts;
    expect(puts.at(-1)).toBe('points/p1');
    expect(puts.at(-2)).toBe('refs/p1');
    for (const k of fb.packPuts()) expect(puts.indexOf(`index/${k.split('/')[2]}`)).toBeGreaterThan(puts.indexOf(k));

    const reader = new VaultReader(vault, known);
    const points = [];
    for await (const p of reader.listPoints()) points.push(p);
    expect(points).toHaveLength(1);
    expect(points[0]).toMatchObject({ id: 'p1', dataSourceId: 'ds-1', agentId: 'agent-1', chunks: 82, root: [chunks[0].chunk.hash.toString('hex')] });
    expect(points[0].createdAt.toISOString()).toBe('2026-11-25T10:00:00.000Z');
    fb.gets.length = 0;
    for (const [hex, raw] of raws) expect((await reader.readChunk(Buffer.from(hex, 'hex'))).equals(raw)).toBe(true);
    // streaming-friendly: one ranged GET per chunk, never a whole pack
    expect(fb.gets.every((g) => g.range && g.range.length < 64 << 10)).toBe(true);
    expect((await reader.pointRefs('p1')).length).toBe(82);

    // a reader on a brand-new server (empty state) rebuilds what it needs from the vault
    const k2 = await KnownChunks.open(tempDir(), vault.id);
    expect(k2.needsSync).toBe(true);
    const r2 = new VaultReader(vault, k2);
    const [hex, raw] = [...raws][5];
    expect((await r2.readChunk(Buffer.from(hex, 'hex'))).equals(raw)).toBe(true);
    await k2.close();
  });

  it('a second, incremental upload sends only the new chunks; uploading a point twice sends nothing', async () => {
    const store = await openStore();
    const base = Array.from({ length: 30 }, () => makeChunk(8 << 10));
    const extra = Array.from({ length: 7 }, () => makeChunk(8 << 10));
    await addPoint(store, 'p1', base);
    await addPoint(store, 'p2', [...base.slice(3), ...extra]);
    const { vault, backend } = await freshVault((b) => new FaultyBackend(b));
    const fb = backend as FaultyBackend;
    const known = await openKnown(vault);
    const up = async (id: string) =>
      uploadPoint({ vault, known, store, point: pointInput(id, []), refs: await refsOf(store, id), packSize: 32 << 10 });
    const r1 = await up('p1');
    expect(r1.chunksSent).toBe(30);
    const before = fb.puts.length;
    const r2 = await up('p2');
    expect(r2).toMatchObject({ chunks: 34, chunksSent: 7, chunksSkipped: 27 });
    const newPacks = fb.packPuts().slice(fb.packPuts().length - r2.packsSent);
    expect(r2.packsSent).toBe(2); // 7 × 8 KiB in 32 KiB packs
    expect(fb.puts.slice(before).filter((k) => k.startsWith('packs/'))).toEqual(newPacks);
    expect(r2.rawBytesSent).toBe(7 * (8 << 10));

    const n = fb.puts.length;
    const r3 = await up('p2');
    expect(r3.alreadyInVault).toBe(true);
    expect(fb.puts.length).toBe(n);

    // the known-chunks log survives a restart: a new process sends nothing for known chunks
    await addPoint(store, 'p3', base);
    const k2 = await openKnown(vault, known.dir);
    expect(k2.needsSync).toBe(false);
    const r4 = await uploadPoint({ vault, known: k2, store, point: pointInput('p3', []), refs: await refsOf(store, 'p3') });
    expect(r4).toMatchObject({ chunksSent: 0, chunksSkipped: 30, packsSent: 0, packsSynced: 0 });

    const reader = new VaultReader(vault, k2);
    expect(await reader.pointIds()).toEqual(['p1', 'p2', 'p3']);
  });

  it('refuses chunks the store does not have (the point is not written)', async () => {
    const store = await openStore();
    const { vault } = await freshVault();
    const known = await openKnown(vault);
    const missing = makeChunk(100).chunk.hash;
    await expect(uploadPoint({ vault, known, store, point: pointInput('px', []), refs: [missing] })).rejects.toThrow(/not found/);
    expect(await new VaultReader(vault, known).pointIds()).toEqual([]);
  });

  it('retries transient errors with exponential backoff', async () => {
    const store = await openStore();
    await addPoint(store, 'p1', Array.from({ length: 5 }, () => makeChunk(4 << 10)));
    const { vault, backend } = await freshVault((b) => new FaultyBackend(b));
    const fb = backend as FaultyBackend;
    const known = await openKnown(vault);
    fb.inject({ ops: ['put', 'get', 'head'], times: 4, kind: 'unreachable' });
    const retries: number[] = [];
    const r = await uploadPoint({
      vault, known, store, point: pointInput('p1', []), refs: await refsOf(store, 'p1'),
      retry: { baseDelayMs: 1000, onRetry: (_e, _a, d) => retries.push(d) },
    });
    expect(r.chunksSent).toBe(5);
    expect(retries).toEqual([1000, 2000, 4000, 8000]);
    // and gives up after the configured attempts
    await addPoint(store, 'p2', [makeChunk(100)]);
    fb.heal();
    fb.inject({ ops: ['put', 'get', 'head'], kind: 'unreachable' });
    await expect(uploadPoint({
      vault, known, store, point: pointInput('p2', []), refs: await refsOf(store, 'p2'), retry: { attempts: 3 },
    })).rejects.toThrow(/unreachable/);
    fb.heal();
    // listings are retried as a whole
    fb.inject({ ops: ['list'], times: 2, kind: 'unreachable' });
    const lists = fb.count('list', 'index/');
    const k2 = await openKnown(vault);
    expect(await k2.sync(vault)).toBe(known.packCount);
    expect(fb.count('list', 'index/') - lists).toBe(3);
  });
});

describe('point refs', () => {
  it('repeated refs in any order are sent once and recorded once, sorted', async () => {
    const { IdList } = await import('../../../server/src/vault/id-set.js');
    const { decodeRefs } = await import('../../../server/src/vault/manifest.js');
    const l = new IdList();
    const ids = Array.from({ length: 5000 }, (_, i) => Buffer.alloc(32, i % 251));
    for (const id of ids) l.push(id);
    const { payload, count } = l.toRefsPayload();
    expect(count).toBe(251);
    const back = decodeRefs(payload);
    expect(Array.isArray(back) && back.map((b) => b[0])).toEqual(Array.from({ length: 251 }, (_, i) => i));

    const store = await openStore();
    const chunks = Array.from({ length: 6 }, () => makeChunk(3000));
    for (const c of chunks) await store.put(c.chunk);
    await store.flush();
    const { vault } = await freshVault();
    const known = await openKnown(vault);
    const refs = [...chunks, ...chunks.slice(2), chunks[0]].map((c) => c.chunk.hash);
    const r = await uploadPoint({ vault, known, store, point: pointInput('dup', []), refs });
    expect(r).toMatchObject({ chunks: 6, chunksSent: 6, chunksSeen: 11, chunksSkipped: 5 });
    expect((await new VaultReader(vault, known).pointRefs('dup')).length).toBe(6);
  });
});
