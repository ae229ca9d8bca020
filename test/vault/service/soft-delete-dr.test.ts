/**
 * Soft-delete state lives in the vault too (`deleted/<pointId>` markers, on
 * both targets with a secondary): a point soft-deleted on server 1 comes
 * back soft-deleted — not live — after an attach on a brand-new server 2,
 * with its purge time, and can be undeleted there (its marker goes); an
 * undeleted point has no marker; a point whose purge time passed is purged
 * by server 2's next daily run, never revived. A pruning repairs markers
 * that disagree with the catalog (a delete or undelete that died halfway).
 */
import { describe, expect, it } from 'vitest';
import { LocalFolderBackend } from '../../../server/src/vault/backends/index.js';
import { readDeletedMarker, writeDeletedMarker } from '../../../server/src/vault/index.js';
import { backupPoint, DAY, localTarget, PASS, server } from './helpers.js';

describe('soft delete survives a disaster-recovery attach', () => {
  it('deleted on server 1 -> deleted on server 2 (undeletable there); undeleted -> live; expired -> purged, not revived', async () => {
    const a = await server();
    const target = localTarget();
    const secondary = localTarget();
    await a.vaults.createVault({ name: 'offsite', target, secondary, passphrase: PASS, softDeleteDays: 14 });
    const expired = await backupPoint(a, { n: 12, source: 'docs' });
    const deleted = await backupPoint(a, { n: 12, source: 'mail' });
    const undeleted = await backupPoint(a, { n: 12, source: 'web' });
    for (const p of [expired, deleted, undeleted]) await a.vaults.uploadPoint(p.point.id);
    const t0 = a.clock.now();
    await a.vaults.deletePoint(expired.point.id, { reason: 'retention' });
    a.clock.advance(10 * DAY);
    const d = await a.vaults.deletePoint(deleted.point.id);
    await a.vaults.deletePoint(undeleted.point.id);
    await a.vaults.undeletePoint(undeleted.point.id);

    // The markers are in the vault, on both targets; the undeleted point's is gone.
    const [prim, sec] = await Promise.all([LocalFolderBackend.open({ path: target.path }), LocalFolderBackend.open({ path: secondary.path })]);
    for (const b of [prim, sec]) {
      expect(await b.head(`deleted/${expired.point.id}`)).not.toBeNull();
      expect(await b.head(`deleted/${deleted.point.id}`)).not.toBeNull();
      expect(await b.head(`deleted/${undeleted.point.id}`)).toBeNull();
    }
    await a.close(); // the site is lost

    const b = await server();
    b.clock.advance(15 * DAY); // server 2 comes up after `expired`'s purge time, before `deleted`'s
    const r = await b.vaults.attach({ name: 'dr', target, secondary, passphrase: PASS });
    expect(r.imported).toMatchObject({ points: 3, deleted: 2, failed: [] });
    expect((await b.vaults.listPoints('dr')).map((p) => p.pointId)).toEqual([undeleted.point.id]);
    const gone = await b.vaults.listPoints('dr', 'deleted');
    expect(gone.map((p) => p.pointId).sort()).toEqual([expired.point.id, deleted.point.id].sort());
    expect(await b.vaults.onlineCopy(deleted.point.id)).toMatchObject({ deletedAt: d.deletedAt, purgeAfter: d.purgeAfter });
    expect(await b.vaults.onlineCopy(expired.point.id)).toMatchObject({ deletedAt: t0, purgeAfter: new Date(t0.getTime() + 14 * DAY) });

    // Undeleted on server 2: live again, and its marker leaves the vault (both targets).
    expect(await b.vaults.undeletePoint(deleted.point.id, 'dr')).toMatchObject({ deletedAt: null, purgeAfter: null });
    for (const x of [prim, sec]) expect(await x.head(`deleted/${deleted.point.id}`)).toBeNull();

    // The daily run purges the expired one (from the vault too); it is not revived.
    const purge = await b.vaults.purgeExpired();
    expect(purge).toMatchObject({ purged: [expired.point.id], failed: [], pruning: { failed: [] } });
    expect(await b.catalog.getRecoveryPoint(expired.point.id)).toBeNull();
    for (const x of [prim, sec]) {
      expect(await x.head(`points/${expired.point.id}`)).toBeNull();
      expect(await x.head(`deleted/${expired.point.id}`)).toBeNull();
    }
    expect((await b.vaults.listPoints('dr')).map((p) => p.pointId).sort()).toEqual([deleted.point.id, undeleted.point.id].sort());
    const reader = await b.vaults.reader('dr');
    for (const [hex, raw] of [...deleted.raws, ...undeleted.raws]) expect((await reader.readChunk(Buffer.from(hex, 'hex'))).equals(raw)).toBe(true);
  });

  it('a pruning brings markers in line with the catalog: a stray marker of a live point goes, a deleted point without one gets it', async () => {
    const s = await server();
    const target = localTarget();
    await s.vaults.createVault({ name: 'offsite', target, passphrase: PASS, softDeleteDays: 14 });
    const live = await backupPoint(s, { n: 4, source: 'docs' });
    const old = await backupPoint(s, { n: 4, source: 'mail' });
    for (const p of [live, old]) await s.vaults.uploadPoint(p.point.id);
    const { vault } = await s.vaults.open('offsite');
    // A delete that died after its marker, before the catalog step:
    await writeDeletedMarker(vault, { pointId: live.point.id, deletedAt: s.clock.now(), purgeAfter: new Date(s.clock.now().getTime() + DAY), reason: 'admin' });
    // A point soft-deleted in the catalog alone (before markers existed, or an undelete that died after the marker went):
    const purgeAfter = new Date(s.clock.now().getTime() + 14 * DAY);
    await s.catalog.softDeleteVaultPoint(old.point.id, purgeAfter, s.clock.now());
    const r = await s.vaults.pruneVault('offsite');
    expect(r).toMatchObject({ markersWritten: 1, markersRemoved: 1, pointIds: [] });
    const b = await LocalFolderBackend.open({ path: target.path });
    expect(await b.head(`deleted/${live.point.id}`)).toBeNull();
    expect(await readDeletedMarker(vault, old.point.id)).toMatchObject({ purgeAfter, deletedAt: s.clock.now() });
    // Nothing left to fix.
    expect(await s.vaults.pruneVault('offsite')).toMatchObject({ markersWritten: 0, markersRemoved: 0 });
  });

  it('a delete is refused while the vault cannot take the marker; the point stays live', async () => {
    const s = await server();
    const target = localTarget();
    await s.vaults.createVault({ name: 'offsite', target, passphrase: PASS, softDeleteDays: 14 });
    const p = await backupPoint(s, { n: 4 });
    await s.vaults.uploadPoint(p.point.id);
    const { rmSync } = await import('node:fs');
    rmSync(target.path, { recursive: true, force: true }); // the mount is gone
    await expect(s.vaults.deletePoint(p.point.id)).rejects.toMatchObject({ code: 'VAULT_UNREACHABLE', message: expect.stringContaining(`deleted/${p.point.id}`) });
    expect(await s.vaults.onlineCopy(p.point.id)).toMatchObject({ deletedAt: null });
  });
});
