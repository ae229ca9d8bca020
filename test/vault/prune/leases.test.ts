/** Leases (docs/vault-format.md §9): uploads exclude pruning and orphan removal and back again; stale leases are taken over. */
import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../server/src/vault/backends/memory.js';
import {
  EXCLUSIVE_LEASE_KEY, Lease, LEASE_TTL_DEFAULT_MS, openVault, pruneVault, readLease, removeOrphanPacks, uploadPoint,
  VaultLeaseHeldError, VaultLeaseLostError, VaultReader,
} from '../../../server/src/vault/index.js';
import { addPoint, fastClock, makeChunk, openStore, pointInput } from '../format/helpers.js';
import { copyOf, expectClean, expectReadable, knownIn, packIds, threePoints } from './helpers.js';

const noTimer = { timer: false } as const;

describe('leases', () => {
  it('a live upload lease refuses pruning and orphan removal, naming the holder and its expiry; nothing is deleted', async () => {
    const f = await threePoints();
    const c = await copyOf(f);
    const k = await knownIn(c.vault, c.stateDir);
    const up = await Lease.upload(c.vault, { owner: 'server-a.upload-1', ...noTimer });
    const before = await packIds(c.vault);
    const err = await pruneVault({ vault: c.vault, known: k, deletePointIds: ['p1'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VaultLeaseHeldError);
    const expiry = new Date(c.clock.now() + LEASE_TTL_DEFAULT_MS).toISOString();
    expect((err as Error).message).toContain('upload lease held by server-a.upload-1 until ' + expiry);
    expect((err as VaultLeaseHeldError).kind).toBe('transient');
    await expect(removeOrphanPacks(c.vault)).rejects.toThrow(/cannot start orphan removal: upload lease held by server-a\.upload-1/);
    expect(await new VaultReader(c.vault, k).pointIds()).toEqual(['p1', 'p2', 'p3']);
    expect(await packIds(c.vault)).toEqual(before);
    // the refused prune left no exclusive lease behind
    expect(await readLease(c.vault, EXCLUSIVE_LEASE_KEY)).toBeUndefined();
    await up.release();
    expect(await c.vault.list('locks/')).toEqual([]);
    expect((await pruneVault({ vault: c.vault, known: k, deletePointIds: ['p1'] })).pointsRemoved).toBe(1);
  });

  it('a stale upload lease, and a stale prune lease, are taken over', async () => {
    const f = await threePoints();
    const c = await copyOf(f);
    const k = await knownIn(c.vault, c.stateDir);
    await Lease.upload(c.vault, { owner: 'dead-uploader', ...noTimer }); // never released: the process died
    await c.clock.sleep(LEASE_TTL_DEFAULT_MS + 1);
    const r = await pruneVault({ vault: c.vault, known: k, deletePointIds: ['p1'], lease: noTimer });
    expect(r.pointsRemoved).toBe(1);
    expect(await c.vault.list('locks/')).toEqual([]);

    await Lease.exclusive(c.vault, 'prune', { owner: 'dead-pruner', ...noTimer });
    await expect(pruneVault({ vault: c.vault, known: k, deletePointIds: ['p2'] }))
      .rejects.toThrow(/cannot start pruning: prune lease held by dead-pruner/);
    await c.clock.sleep(LEASE_TTL_DEFAULT_MS + 1);
    expect((await pruneVault({ vault: c.vault, known: k, deletePointIds: ['p2'], lease: noTimer })).pointsRemoved).toBe(1);
    await expectReadable(c.vault, k, [f.raws.p3]);
    await expectClean(c.vault, k, ['p3']);
  });

  it('an upload is refused while a prune holds the exclusive lease, and writes nothing', async () => {
    const store = await openStore();
    const chunks = Array.from({ length: 5 }, () => makeChunk(4 << 10));
    await addPoint(store, 'p9', chunks);
    const f = await threePoints();
    const c = await copyOf(f);
    const k = await knownIn(c.vault, c.stateDir);
    const refs = chunks.map((x) => x.chunk.hash);
    const upload = () => uploadPoint({ vault: c.vault, known: k, store, point: pointInput('p9', []), refs });

    // while a prune runs: its progress callback starts an upload
    let during: Promise<unknown> | undefined;
    await pruneVault({
      vault: c.vault, known: k, deletePointIds: ['p1'], lease: { owner: 'pruner-1', ...noTimer },
      onProgress: () => { during ??= upload().then(() => 'uploaded', (e: unknown) => e); },
    });
    const e = await during;
    expect(e).toBeInstanceOf(VaultLeaseHeldError);
    expect((e as Error).message).toMatch(/cannot start an upload: prune lease held by pruner-1 until /);
    expect(await c.vault.backend.head('points/p9')).toBeNull();
    expect(await c.vault.list('locks/')).toEqual([]);
    // once the prune is over the upload goes through
    expect((await upload()).chunksSent).toBe(5);
    expect(await c.vault.list('locks/')).toEqual([]);
  });

  it('on the in-memory backend: a lease is renewed at each step, lost when it expires unrenewed, and one exclusive holder at a time', async () => {
    const { freshVault } = await import('../format/helpers.js');
    const { vault: tpl } = await freshVault();
    const mem = new MemoryBackend();
    await mem.put('config', await tpl.backend.get('config'));
    const clock = fastClock();
    const vault = await openVault(mem, { key: tpl.exportKey() }, { clock });
    const a = await Lease.exclusive(vault, 'prune', { owner: 'a', ...noTimer });
    await expect(Lease.exclusive(vault, 'orphans', { owner: 'b', ...noTimer })).rejects.toThrow(/prune lease held by a/);
    await expect(Lease.upload(vault, { owner: 'u', ...noTimer })).rejects.toThrow(VaultLeaseHeldError);
    expect((await vault.list('locks/')).map((o) => o.key)).toEqual([EXCLUSIVE_LEASE_KEY]);
    const first = (await readLease(vault, EXCLUSIVE_LEASE_KEY))!.expiresAt;
    await clock.sleep(LEASE_TTL_DEFAULT_MS / 2);
    await a.check(); // renews: a third of the lifetime has passed
    const renewed = (await readLease(vault, EXCLUSIVE_LEASE_KEY))!.expiresAt;
    expect(Date.parse(renewed)).toBe(clock.now() + LEASE_TTL_DEFAULT_MS);
    expect(Date.parse(renewed)).toBeGreaterThan(Date.parse(first));
    await clock.sleep(LEASE_TTL_DEFAULT_MS + 1);
    await expect(a.check()).rejects.toThrow(VaultLeaseLostError);
    // b takes the stale lease over; a, released late, does not delete b's
    const b = await Lease.exclusive(vault, 'orphans', { owner: 'b', ...noTimer });
    await a.release();
    expect((await readLease(vault, EXCLUSIVE_LEASE_KEY))!.owner).toBe('b');
    await b.release();
    expect(mem.size).toBe(1); // only the config
  });
});
