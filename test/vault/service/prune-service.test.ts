/**
 * Vault pruning through the service: after online points are deleted and
 * purged, the daily purge's pruning deletes the packs only they held (the
 * vault's folder shrinks) and every remaining point still reads every chunk;
 * the known chunks follow (a chunk whose pack went is sent again). While a
 * restore or verify holds the vault, packs are left alone and the pruning
 * reports `postponed`; the next run does it; a read asked for during the
 * pack work waits for it. Leftovers: a point whose own
 * marker says it expired and that the catalog no longer has is removed; a
 * point the catalog does not know and that has no marker is kept.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalFolderBackend } from '../../../server/src/vault/backends/index.js';
import { backupPoint, DAY, localTarget, PASS, server, type ServerUnderTest } from './helpers.js';

/** Bytes and files under a folder. */
function du(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      const r = du(p);
      bytes += r.bytes;
      files += r.files;
    } else {
      bytes += statSync(p).size;
      files++;
    }
  }
  return { bytes, files };
}

const packs = (dir: string) => readdirSync(path.join(dir, 'objects', 'packs'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;

async function readsEverything(s: ServerUnderTest, raws: Map<string, Buffer>) {
  const reader = await s.vaults.reader('offsite');
  for (const [hex, raw] of raws) expect((await reader.readChunk(Buffer.from(hex, 'hex'))).equals(raw)).toBe(true);
}

async function threePoints(s: ServerUnderTest, softDeleteDays = 1) {
  const target = localTarget();
  await s.vaults.createVault({ name: 'offsite', target, passphrase: PASS, softDeleteDays });
  const a = await backupPoint(s, { n: 40, source: 'docs' });
  const b = await backupPoint(s, { n: 40, source: 'mail' });
  const keep = await backupPoint(s, { n: 30, source: 'web' });
  for (const p of [a, b, keep]) await s.vaults.uploadPoint(p.point.id);
  return { target, a, b, keep };
}

describe('vault pruning in the service', () => {
  it('after deleted points are purged the daily run frees their packs; the rest reads back; known chunks follow', async () => {
    const s = await server();
    const { target, a, b, keep } = await threePoints(s);
    const before = du(target.path);
    for (const p of [a, b]) await s.vaults.deletePoint(p.point.id);
    s.clock.advance(2 * DAY);
    const r = await s.vaults.purgeExpired();
    expect(r.purged.sort()).toEqual([a.point.id, b.point.id].sort());
    expect(r.pruning).toMatchObject({ failed: [], postponed: 0 });
    expect(r.pruning.vaults).toHaveLength(1);
    expect(r.pruning.packsDeleted + r.pruning.packsRewritten).toBeGreaterThan(0);
    const after = du(target.path);
    expect(r.pruning.bytesFreed).toBeGreaterThan(0);
    // The vault's folder shrank by (about) what was freed: most of two points out of three.
    expect(after.bytes).toBeLessThan(before.bytes - r.pruning.bytesFreed / 2);
    expect(after.bytes).toBeLessThan(before.bytes * 0.6);
    await readsEverything(s, keep.raws);
    // No point is left that the catalog does not hold, and the pruning debt is paid.
    const backend = await LocalFolderBackend.open({ path: target.path });
    const listed: string[] = [];
    for await (const o of backend.list('points/')) listed.push(o.key);
    expect(listed).toEqual([`points/${keep.point.id}`]);
    expect(readdirSync(s.vaults.stateDir((await s.vaults.get('offsite')).id))).not.toContain('prune.pending');
    // A second daily run owes nothing: it does not even look at the packs.
    s.clock.advance(DAY);
    expect((await s.vaults.purgeExpired()).pruning.vaults).toEqual([]);

    // Known chunks followed: a new point made of a deleted point's chunks sends them again and reads back.
    const again = await backupPoint(s, { n: 0, shared: a.raws, source: 'docs' });
    const up = await s.vaults.uploadPoint(again.point.id);
    expect(up.chunksSent).toBe(a.raws.size);
    await readsEverything(s, a.raws);
  });

  it('while a restore holds a read, the pruning removes the points but no pack, and reports postponed; the next run frees them', async () => {
    const s = await server();
    const { target, a, keep } = await threePoints(s);
    const vault = await s.vaults.get('offsite');
    await s.vaults.deletePoint(a.point.id);
    s.clock.advance(2 * DAY);
    const packsBefore = packs(target.path);
    const hold = await s.vaults.acquireRead('offsite');
    const r = await s.vaults.purgeExpired();
    expect(r.purged).toEqual([a.point.id]);
    expect(r.pruning.postponed).toBe(1);
    expect(r.pruning.vaults[0]).toMatchObject({ vaultId: vault.id, postponed: true, packsDeleted: 0, packsRewritten: 0, bytesFreed: 0, reason: expect.stringMatching(/1 restore or verify job/) });
    expect(packs(target.path)).toBe(packsBefore);
    const backend = await LocalFolderBackend.open({ path: target.path });
    expect(await backend.head(`points/${a.point.id}`)).toBeNull();
    expect(readdirSync(s.vaults.stateDir(vault.id))).toContain('prune.pending');
    await readsEverything(s, keep.raws); // the restore reading meanwhile loses nothing

    // An explicit pruning while the read is still held is postponed too.
    expect(await s.vaults.pruneVault('offsite')).toMatchObject({ postponed: true, packsDeleted: 0 });
    hold.release();
    s.clock.advance(DAY);
    const next = await s.vaults.purgeExpired();
    expect(next.purged).toEqual([]);
    expect(next.pruning.vaults).toEqual([expect.objectContaining({ postponed: false, skipped: false })]);
    expect(next.pruning.packsDeleted + next.pruning.packsRewritten).toBeGreaterThan(0);
    expect(packs(target.path)).toBeLessThan(packsBefore);
    await readsEverything(s, keep.raws);
  });

  it('a read asked for while a pruning rewrites or deletes packs waits until that work is done', async () => {
    const s = await server();
    const { a, keep } = await threePoints(s);
    const vault = await s.vaults.get('offsite');
    await s.catalog.removeVaultPoint(a.point.id);
    const order: string[] = [];
    let read: Promise<{ release(): void }> | undefined;
    const r = await s.vaults.pruneVault('offsite', {
      deletePointIds: [a.point.id],
      onProgress: (p) => {
        if (p.phase === 'plan' && !read) read = s.vaults.acquireRead('offsite').then((h) => (order.push('read'), h));
        if (p.phase === 'delete') expect(s.vaults.activeReaders(vault.id)).toBe(0);
        if (p.phase === 'done') order.push('pruned');
      },
    });
    expect(r).toMatchObject({ postponed: false, pointIds: [a.point.id] });
    expect(r.packsDeleted + r.packsRewritten).toBeGreaterThan(0);
    const hold = await read!;
    expect(order).toEqual(['pruned', 'read']);
    await readsEverything(s, keep.raws);
    hold.release();
  });

  it('repairs leftovers it is sure of (an expired marker, no catalog row) and keeps a point only the vault knows', async () => {
    const s = await server();
    const { target, a, b, keep } = await threePoints(s);
    // a: soft-deleted, then its catalog row lost (a purge that died after the catalog step, say).
    await s.vaults.deletePoint(a.point.id);
    await s.catalog.removeVaultPoint(a.point.id);
    // b: live in the vault, but the catalog lost its row (no marker): nothing says it is deleted.
    await s.catalog.removeVaultPoint(b.point.id);
    const backend = await LocalFolderBackend.open({ path: target.path });
    // Before a's purge time it stays.
    expect(await s.vaults.pruneVault('offsite')).toMatchObject({ pointIds: [], unknownPoints: 2 });
    expect(await backend.head(`points/${a.point.id}`)).not.toBeNull();
    s.clock.advance(2 * DAY);
    const r = await s.vaults.pruneVault('offsite');
    expect(r).toMatchObject({ pointIds: [a.point.id], unknownPoints: 1, postponed: false });
    expect(r.packsDeleted + r.packsRewritten).toBeGreaterThan(0);
    expect(await backend.head(`points/${a.point.id}`)).toBeNull();
    expect(await backend.head(`deleted/${a.point.id}`)).toBeNull();
    expect(await backend.head(`points/${b.point.id}`)).not.toBeNull();
    await readsEverything(s, b.raws);
    await readsEverything(s, keep.raws);
  });
});
