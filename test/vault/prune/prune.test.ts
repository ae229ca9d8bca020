/** pruneVault on the real local-folder backend: points removed, dead packs deleted, sparse packs rewritten, the rest kept. */
import { describe, expect, it } from 'vitest';
import { KnownChunks, pruneVault, type PruneProgress, VaultReader } from '../../../server/src/vault/index.js';
import { packKey } from '../../../server/src/vault/pack-format.js';
import { tempDir } from '../format/helpers.js';
import { expectClean, expectReadable, knownIn, packIds, threePoints } from './helpers.js';

describe('pruneVault', () => {
  it('prunes one of three points: the others read back byte-identical, dead packs go, a sparse pack is rewritten, a dense one kept', async () => {
    const f = await threePoints();
    const { vault, known, packs } = f;
    const phases: PruneProgress['phase'][] = [];
    const r = await pruneVault({ vault, known, deletePointIds: ['p1'], onProgress: (p) => phases.push(p.phase) });
    expect(r).toMatchObject({ pointsRemoved: 1, packsDeleted: 1, packsRewritten: 1, packsWritten: 1, chunksCopied: 1, orphansRemoved: 0 });
    expect(r.bytesRewritten).toBeGreaterThan(8 << 10);
    // PA2 (32 KiB) and PA3 (32 KiB) went, one 8 KiB pack came
    expect(r.bytesFreed).toBeGreaterThan(50 << 10);
    expect(phases.at(-1)).toBe('done');

    const after = await packIds(vault);
    expect(after).toHaveLength(5);
    expect(after).not.toContain(packs.PA2);
    expect(after).not.toContain(packs.PA3);
    for (const p of ['PA1', 'PB1', 'PB2', 'PC1']) expect(after).toContain(packs[p]);
    for (const id of [packs.PA2, packs.PA3]) expect(await vault.backend.head(packKey(id))).toBeNull();
    expect(await vault.backend.head('points/p1')).toBeNull();
    expect(await vault.backend.head('refs/p1')).toBeNull();
    expect((await vault.list('locks/')).map((o) => o.key)).toEqual([]);

    // the server's known chunks forgot the deleted packs and learnt the new one
    expect(known.packCount).toBe(5);
    for (const [, loc] of known.entries()) expect([packs.PA2, packs.PA3]).not.toContain(loc.packId);
    await expectReadable(vault, known, [f.raws.p2, f.raws.p3]);
    await expectClean(vault, known, ['p2', 'p3']);
    // the log on disk says the same (a restart), and a brand-new server rebuilds the same from the vault
    const reopened = await knownIn(vault, f.stateDir);
    expect(reopened.packCount).toBe(5);
    await expectReadable(vault, reopened, [f.raws.p2, f.raws.p3]);
    const fresh = await knownIn(vault, tempDir());
    await fresh.rebuild(vault);
    await expectReadable(vault, fresh, [f.raws.p2, f.raws.p3]);
    const reader = new VaultReader(vault, fresh);
    await expect(reader.getPoint('p1')).rejects.toThrow(/not in vault/);

    // a rerun has nothing left to do
    const again = await pruneVault({ vault, known, deletePointIds: ['p1'] });
    expect(again).toMatchObject({ pointsRemoved: 0, packsDeleted: 0, packsRewritten: 0, packsWritten: 0, bytesFreed: 0 });

    // uploading p1 again resends the chunks that went (the known chunks do not claim them)
    await f.upload('p1');
    await expectReadable(vault, known, [f.raws.p1, f.raws.p2, f.raws.p3]);
    await expectClean(vault, known, ['p1', 'p2', 'p3']);
  });

  it('another server whose known chunks predate the prune rebuilds them before it uploads (it never skips a deleted chunk)', async () => {
    const f = await threePoints();
    const other = await knownIn(f.vault, tempDir());
    await other.sync(f.vault);
    expect(other.packCount).toBe(6);
    await pruneVault({ vault: f.vault, known: f.known, deletePointIds: ['p1'] });
    expect(other.epoch).toBe('');
    expect(f.known.epoch).toMatch(/^[0-9a-f]{32}$/);
    const store = f.store;
    const { uploadPoint } = await import('../../../server/src/vault/index.js');
    const r = await uploadPoint({ vault: f.vault, known: other, store, point: { id: 'p1', dataSourceId: 'd', agentId: 'a', createdAt: new Date(), root: [] },
      refs: [...f.raws.p1.keys()].map((h) => Buffer.from(h, 'hex')), packSize: 32 << 10 });
    expect(r.chunksSent).toBe(7); // A4-A7 (dead pack) and A9-A11 (not copied out of the rewritten one)
    expect(other.epoch).toBe(f.known.epoch);
    await expectReadable(f.vault, other, [f.raws.p1, f.raws.p2, f.raws.p3]);
    await expectClean(f.vault, other, ['p1', 'p2', 'p3']);
  });

  it('keeps a sparse pack at or above the threshold, and rewrites nothing with rewriteBelow 0', async () => {
    const f = await threePoints();
    const r0 = await pruneVault({ vault: f.vault, known: f.known, deletePointIds: ['p1'], rewriteBelow: 0 });
    expect(r0).toMatchObject({ pointsRemoved: 1, packsDeleted: 1, packsRewritten: 0 });
    expect(await packIds(f.vault)).toContain(f.packs.PA3);
    // PA1 is 3/4 live: a threshold of 0.8 rewrites it and PA3 (1/4); PB*, PC1 are whole
    const r1 = await pruneVault({ vault: f.vault, known: f.known, deletePointIds: [], rewriteBelow: 0.8 });
    expect(r1).toMatchObject({ pointsRemoved: 0, packsDeleted: 0, packsRewritten: 2, packsWritten: 1, chunksCopied: 4 });
    const ids = await packIds(f.vault);
    expect(ids).not.toContain(f.packs.PA1);
    expect(ids).not.toContain(f.packs.PA3);
    await expectReadable(f.vault, f.known, [f.raws.p2, f.raws.p3]);
    await expectClean(f.vault, f.known, ['p2', 'p3']);
  });

  it('keepPointIds removes every other point; a chunk in two sparse packs is copied once', async () => {
    const f = await threePoints();
    const r = await pruneVault({ vault: f.vault, known: f.known, keepPointIds: ['p3'], rewriteBelow: 0.5 });
    // p3 = A8 (PA3 1/4), B4 (PB2 1/4), C0-3 (PC1): PA1, PB1 dead; PA3, PB2 rewritten into one pack
    expect(r).toMatchObject({ pointsRemoved: 2, packsDeleted: 3, packsRewritten: 2, packsWritten: 1, chunksCopied: 2 });
    expect(await packIds(f.vault)).toHaveLength(2);
    await expectReadable(f.vault, f.known, [f.raws.p3]);
    await expectClean(f.vault, f.known, ['p3']);
    // refuses a call that says neither or both
    await expect(pruneVault({ vault: f.vault, known: f.known })).rejects.toThrow(/exactly one/);
    await expect(pruneVault({ vault: f.vault, known: f.known, keepPointIds: [], deletePointIds: [] })).rejects.toThrow(/exactly one/);
    await expect(pruneVault({ vault: f.vault, known: f.known, deletePointIds: ['../x'] })).rejects.toThrow();
  });

  it('a cancelled prune stops at its next step, releases its lease, and a rerun finishes', async () => {
    const f = await threePoints();
    const ac = new AbortController();
    await expect(pruneVault({
      vault: f.vault, known: f.known, deletePointIds: ['p1'], signal: ac.signal,
      onProgress: (p) => { if (p.phase === 'plan') ac.abort(); },
    })).rejects.toThrow(/abort/i);
    expect(await f.vault.list('locks/')).toEqual([]);
    expect(await packIds(f.vault)).toHaveLength(6);
    await expectReadable(f.vault, f.known, [f.raws.p2, f.raws.p3]);
    const r = await pruneVault({ vault: f.vault, known: f.known, deletePointIds: ['p1'] });
    expect(r).toMatchObject({ pointsRemoved: 0, packsDeleted: 1, packsRewritten: 1 });
    await expectClean(f.vault, f.known, ['p2', 'p3']);
  });

  it('stops before deleting any pack when a remaining point has no refs (it cannot know what is live)', async () => {
    const f = await threePoints();
    await f.vault.backend.delete('refs/p3');
    const before = await packIds(f.vault);
    await expect(pruneVault({ vault: f.vault, known: f.known, deletePointIds: ['p1'] })).rejects.toThrow(/refs/);
    expect(await packIds(f.vault)).toEqual(before);
    expect((await f.vault.list('locks/')).length).toBe(0);
    const k = await KnownChunks.open(tempDir(), f.vault.id);
    await k.rebuild(f.vault);
    await expectReadable(f.vault, k, [f.raws.p2]);
    await k.close();
  });
});
