/** VaultService on local-folder vaults: create, upload recorded after the manifest, reads, soft delete, immutability, retention minimums. */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOnlinePolicy } from '../../../server/src/retention/policy.js';
import { checkOnlineRetentionAllowed } from '../../../server/src/services/vault-protection.js';
import { LocalFolderBackend } from '../../../server/src/vault/backends/index.js';
import { backupPoint, DAY, localTarget, PASS, server } from './helpers.js';

describe('VaultService.createVault', () => {
  it('initializes the target, saves the key 0600 under the data dir, records the vault ready, creates DefaultPolicy once', async () => {
    const s = await server();
    const target = localTarget();
    const { vault, defaultPolicy } = await s.vaults.createVault({ name: 'offsite', target, passphrase: PASS });
    expect(vault).toMatchObject({ name: 'offsite', kind: 'local', config: { path: target.path }, redundancy: 'LRS', softDeleteDays: 14, immutable: false, state: 'ready', secondary: null });
    expect(vault.vaultUid).toMatch(/^[0-9a-f]{32}$/);
    expect(defaultPolicy).toMatchObject({ name: 'DefaultPolicy', created: true });
    const keyFile = path.join(s.dataDir, 'vault-state', vault.id, 'vault-key.json');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    // the key stays on the server: the vault folder holds only the vault's objects
    expect(existsSync(path.join(target.path, 'objects', 'config'))).toBe(true);
    expect(existsSync(path.join(target.path, 'objects', 'vault-key.json'))).toBe(false);
    expect(existsSync(path.join(target.path, 'vault-key.json'))).toBe(false);
    const second = await s.vaults.createVault({ name: 'default-path', passphrase: PASS });
    expect(second.vault.config).toEqual({ path: path.join(s.dataDir, 'vault', 'default-path') });
    expect(second.defaultPolicy).toMatchObject({ id: defaultPolicy.id, created: false });
  });

  it('refuses a short passphrase, a taken name, a bad target and an initialized target, leaving no catalog row', async () => {
    const s = await server();
    await expect(s.vaults.createVault({ name: 'v', target: localTarget(), passphrase: 'only 15 chars!!' }))
      .rejects.toMatchObject({ code: 'VAULT_PASSPHRASE_TOO_SHORT', message: expect.stringMatching(/at least 16 characters/) });
    await expect(s.vaults.createVault({ name: 'v', target: { kind: 'azure', container: 'strata' }, passphrase: PASS }))
      .rejects.toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/connectionString/) });
    await expect(s.vaults.createVault({ name: 'v', target: { kind: 'local', path: 'relative' }, passphrase: PASS })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(s.vaults.createVault({ name: 'v', target: localTarget(), secondary: localTarget(), redundancy: 'LRS', passphrase: PASS })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    expect(await s.catalog.listVaults()).toEqual([]);
    const target = localTarget();
    await s.vaults.createVault({ name: 'v', target, passphrase: PASS });
    await expect(s.vaults.createVault({ name: 'v', target: localTarget(), passphrase: PASS })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(s.vaults.createVault({ name: 'again', target, passphrase: PASS }))
      .rejects.toMatchObject({ code: 'VAULT_EXISTS', message: expect.stringMatching(/attach/) });
    expect((await s.catalog.listVaults()).map((v) => v.name)).toEqual(['v']);
  });
});

describe('VaultService.uploadPoint', () => {
  it('records the online copy only after the manifest is in the vault; every chunk reads back; a second upload sends nothing', async () => {
    const s = await server();
    const target = localTarget();
    const { vault } = await s.vaults.createVault({ name: 'offsite', target, passphrase: PASS });
    const { point, raws } = await backupPoint(s, { n: 40 });
    const backend = await LocalFolderBackend.open({ path: target.path });
    // While packs go out (progress), neither the catalog nor the vault has the point yet.
    const during: Promise<[unknown, unknown]>[] = [];
    const r = await s.vaults.uploadPoint(point.id, {
      onProgress: () => void during.push(Promise.all([s.catalog.getVaultPoint(point.id), backend.head(`points/${point.id}`)])),
    });
    const seen = await Promise.all(during);
    expect(seen.length).toBeGreaterThan(1);
    for (const [row, manifest] of seen.slice(0, -1)) {
      expect(row).toBeNull();
      expect(manifest).toBeNull();
    }
    expect(r).toMatchObject({ vaultId: vault.id, vaultName: 'offsite', pointId: point.id, alreadyInVault: false, chunks: 40, chunksSent: 40 });
    expect(r.online).toMatchObject({ pointId: point.id, vaultId: vault.id, chunks: 40, imported: false, deletedAt: null });
    expect(await backend.head(`points/${point.id}`)).not.toBeNull();
    expect(await s.catalog.getRecoveryPoint(point.id)).toMatchObject({ location: 'both', vaultId: vault.id });

    const reader = await s.vaults.reader('offsite');
    expect((await reader.getPoint(point.id)).extra).toMatchObject({ agent: { name: 'fileserver', hostname: 'fs01' }, dataSource: { name: 'docs', paths: ['/srv/docs'], excludes: ['*.tmp'] } });
    for (const [hex, raw] of raws) expect((await reader.readChunk(Buffer.from(hex, 'hex'))).equals(raw)).toBe(true);

    const again = await s.vaults.uploadPoint(point.id);
    expect(again).toMatchObject({ alreadyInVault: true, bytesSent: 0, chunks: 40 });
    // incremental: a second point sharing chunks sends only its new ones
    const next = await backupPoint(s, { n: 5, shared: raws });
    const r2 = await s.vaults.uploadPoint(next.point.id);
    expect(r2).toMatchObject({ chunks: 45, chunksSent: 5, chunksSkipped: 40 });
  });

  it('a cancelled upload leaves no online point; the rerun completes it; a lost catalog record is recovered from the manifest', async () => {
    const s = await server();
    await s.vaults.createVault({ name: 'offsite', target: localTarget(), passphrase: PASS });
    const { point } = await backupPoint(s, { n: 60 });
    const ac = new AbortController();
    await expect(s.vaults.uploadPoint(point.id, { signal: ac.signal, onProgress: (p) => { if (p.packsSent >= 1) ac.abort(); } }))
      .rejects.toMatchObject({ code: 'VAULT_UPLOAD_ABORTED' });
    expect(await s.catalog.getVaultPoint(point.id)).toBeNull();
    expect((await s.catalog.getRecoveryPoint(point.id))!.location).toBe('disk');
    const r = await s.vaults.uploadPoint(point.id);
    expect(r.chunksSkipped).toBeGreaterThan(0);
    expect(r.chunks).toBe(60);
    // the manifest is in the vault but the catalog lost the record (crash in between): the rerun only records it
    await s.catalog.removeVaultPoint(point.id);
    const again = await s.vaults.uploadPoint(point.id);
    expect(again).toMatchObject({ alreadyInVault: true, chunks: 60 });
    expect(await s.catalog.getVaultPoint(point.id)).toMatchObject({ chunks: 60 });
  });

  it('names the vault when there are several; refuses an unknown point', async () => {
    const s = await server();
    await s.vaults.createVault({ name: 'a', target: localTarget(), passphrase: PASS });
    await s.vaults.createVault({ name: 'b', target: localTarget(), passphrase: PASS });
    const { point } = await backupPoint(s);
    await expect(s.vaults.uploadPoint(point.id)).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/name the one/) });
    expect((await s.vaults.uploadPoint(point.id, { vault: 'b' })).vaultName).toBe('b');
    await expect(s.vaults.uploadPoint(crypto.randomUUID())).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('soft delete, undelete, purge', () => {
  it('a deleted online point is kept softDeleteDays and can be undeleted; purged after, from the vault and the catalog', async () => {
    const s = await server();
    const target = localTarget();
    await s.vaults.createVault({ name: 'offsite', target, passphrase: PASS, softDeleteDays: 10 });
    const { point } = await backupPoint(s);
    await s.vaults.uploadPoint(point.id);
    const d = await s.vaults.deletePoint(point.id);
    expect(d).toMatchObject({ purged: false, deletedAt: s.clock.now(), purgeAfter: new Date(s.clock.now().getTime() + 10 * DAY) });
    expect(await s.vaults.listPoints('offsite')).toEqual([]);
    expect((await s.vaults.listPoints('offsite', 'deleted')).map((p) => p.pointId)).toEqual([point.id]);
    expect(await s.vaults.undeletePoint(point.id, 'offsite')).toMatchObject({ deletedAt: null, purgeAfter: null });
    await expect(s.vaults.undeletePoint(point.id)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await s.vaults.listPoints('offsite')).map((p) => p.pointId)).toEqual([point.id]);

    await s.vaults.deletePoint(point.id);
    s.clock.advance(9 * DAY);
    const backend = await LocalFolderBackend.open({ path: target.path });
    expect(await backend.head(`deleted/${point.id}`)).not.toBeNull(); // the soft-delete state is in the vault too
    expect(await s.vaults.purgeExpired()).toMatchObject({ purged: [], failed: [], pruning: { vaults: [], failed: [] } });
    s.clock.advance(DAY);
    // The purge, then the vault's pruning: the point was alone in the vault, so its packs go too.
    const r = await s.vaults.purgeExpired();
    expect(r).toMatchObject({ purged: [point.id], failed: [], pruning: { failed: [], postponed: 0 } });
    expect(r.pruning.packsDeleted).toBeGreaterThan(0);
    expect(r.pruning.bytesFreed).toBeGreaterThan(0);
    expect(await backend.head(`points/${point.id}`)).toBeNull();
    expect(await backend.head(`refs/${point.id}`)).toBeNull();
    expect(await backend.head(`deleted/${point.id}`)).toBeNull();
    expect(await s.catalog.getVaultPoint(point.id)).toBeNull();
    expect(await s.catalog.getRecoveryPoint(point.id)).toMatchObject({ location: 'disk', vaultId: null });
    await expect(s.vaults.undeletePoint(point.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('with soft delete off a delete purges at once', async () => {
    const s = await server();
    await s.vaults.createVault({ name: 'offsite', target: localTarget(), passphrase: PASS, softDeleteDays: 0 });
    const { point } = await backupPoint(s);
    await s.vaults.uploadPoint(point.id);
    expect(await s.vaults.deletePoint(point.id)).toMatchObject({ purged: true });
    expect(await s.catalog.getVaultPoint(point.id)).toBeNull();
  });
});

describe('online GFS retention', () => {
  it('applyOnlineRetention soft-deletes the copies the policy no longer holds, also on an immutable vault', async () => {
    const s = await server();
    await s.vaults.createVault({ name: 'locked', target: localTarget(), passphrase: PASS, immutable: true });
    const ids: string[] = [];
    for (let d = 1; d <= 10; d++) {
      const { point } = await backupPoint(s, { n: 2, createdAt: new Date(Date.UTC(2026, 10, d, 22, 0)) });
      await s.vaults.uploadPoint(point.id);
      ids.push(point.id);
    }
    const { point: diskOnly } = await backupPoint(s, { n: 1, createdAt: new Date(Date.UTC(2026, 10, 1, 21, 0)) });
    const spec = parseOnlinePolicy({ schedule: { frequency: 'daily', times: ['22:00'] }, retention: { daily: { count: 7 } } });
    const r = await s.vaults.applyOnlineRetention((await s.catalog.getRecoveryPoint(ids[0]!))!.dataSourceId, spec, new Date(Date.UTC(2026, 10, 10, 23, 0)));
    expect(r.filter((d) => !d.keep).map((d) => d.pointId).sort()).toEqual(ids.slice(0, 3).sort());
    expect(r.map((d) => d.pointId)).not.toContain(diskOnly.id);
    expect((await s.vaults.listPoints('locked')).map((p) => p.pointId).sort()).toEqual(ids.slice(3).sort());
    expect((await s.vaults.listPoints('locked', 'deleted')).map((p) => p.pointId).sort()).toEqual(ids.slice(0, 3).sort());
  });
});

describe('immutability and retention minimums', () => {
  it('an immutable vault refuses an admin delete (retention expiry is allowed) and cannot be made mutable', async () => {
    const s = await server();
    await s.vaults.createVault({ name: 'locked', target: localTarget(), passphrase: PASS, immutable: true });
    const { point } = await backupPoint(s);
    await s.vaults.uploadPoint(point.id);
    await expect(s.vaults.deletePoint(point.id)).rejects.toMatchObject({ code: 'VAULT_IMMUTABLE', httpStatus: 409, message: expect.stringMatching(/immutable/) });
    expect(await s.catalog.getVaultPoint(point.id)).toMatchObject({ deletedAt: null });
    await expect(s.vaults.update('locked', { immutable: false })).rejects.toMatchObject({ code: 'VAULT_IMMUTABLE' });
    await expect(s.vaults.update('locked', { softDeleteDays: 7 })).rejects.toMatchObject({ code: 'VAULT_IMMUTABLE' });
    expect(await s.vaults.update('locked', { softDeleteDays: 30 })).toMatchObject({ softDeleteDays: 30 });
    expect(await s.vaults.deletePoint(point.id, { reason: 'retention' })).toMatchObject({ purged: false, deletedAt: expect.any(Date) });
  });

  it('retention below 7 days / 4 weeks / 3 months / 1 year is refused while soft delete or immutability is on', async () => {
    const s = await server();
    const spec = (retention: object, frequency = 'daily') => parseOnlinePolicy({ schedule: { frequency, times: ['22:00'], ...(frequency === 'weekly' ? { weekdays: ['sun'] } : {}) }, retention });
    const off = (await s.vaults.createVault({ name: 'plain', target: localTarget(), passphrase: PASS, softDeleteDays: 0 })).vault;
    // no protections: anything the policy parser accepts
    expect(() => checkOnlineRetentionAllowed(spec({ daily: { count: 1 } }), [off])).not.toThrow();
    const soft = (await s.vaults.createVault({ name: 'soft', target: localTarget(), passphrase: PASS })).vault;
    const refused = (sp: ReturnType<typeof spec>, re: RegExp) =>
      expect(() => checkOnlineRetentionAllowed(sp, [off, soft])).toThrow(expect.objectContaining({ code: 'RETENTION_BELOW_MINIMUM', message: expect.stringMatching(re) }));
    refused(spec({ daily: { count: 6 } }), /daily.count must be at least 7 days while soft delete is on for vault 'soft'/);
    refused(spec({ weekly: { count: 3, weekday: 'sun' } }, 'weekly'), /weekly.count must be at least 4 weeks/);
    refused(spec({ daily: { count: 30 }, monthly: { count: 2, day: 1 } }), /monthly.count must be at least 3 months/);
    expect(() => checkOnlineRetentionAllowed(spec({ daily: { count: 7 }, weekly: { count: 4, weekday: 'sun' }, monthly: { count: 3, day: 'last' }, yearly: { count: 1, month: 1, day: 1 } }), [soft])).not.toThrow();
    // a weekly schedule's daily rule holds nothing, so it has no minimum
    expect(() => checkOnlineRetentionAllowed(spec({ daily: { count: 1 }, weekly: { count: 4, weekday: 'sun' } }, 'weekly'), [soft])).not.toThrow();
    // immutable: no shortening of a policy in use
    const locked = (await s.vaults.createVault({ name: 'locked', target: localTarget(), passphrase: PASS, softDeleteDays: 0, immutable: true })).vault;
    const before = spec({ daily: { count: 30 }, monthly: { count: 12, day: 1 } });
    expect(() => checkOnlineRetentionAllowed(spec({ daily: { count: 31 }, monthly: { count: 12, day: 1 } }), [locked], before)).not.toThrow();
    expect(() => checkOnlineRetentionAllowed(spec({ daily: { count: 20 }, monthly: { count: 12, day: 1 } }), [locked], before)).toThrow(/cannot be shortened.*daily.count 30 -> 20/);
    expect(() => checkOnlineRetentionAllowed(spec({ daily: { count: 30 } }), [locked], before)).toThrow(/monthly rule would be removed/);
    expect(() => checkOnlineRetentionAllowed(spec({ daily: { count: 5 } }), [locked])).toThrow(/vault 'locked' is immutable/);
  });

  it('turning protections on is refused while an online policy is below the minimums', async () => {
    const s = await server();
    await s.catalog.createOnlinePolicy({ name: 'short', spec: { schedule: { frequency: 'daily', times: ['22:00'] }, retention: { daily: { count: 3 } }, timeZone: 'UTC' } });
    await expect(s.vaults.createVault({ name: 'soft', target: localTarget(), passphrase: PASS }))
      .rejects.toMatchObject({ code: 'RETENTION_BELOW_MINIMUM', message: expect.stringMatching(/online policy 'short': retention.daily.count must be at least 7 days/) });
    await s.vaults.createVault({ name: 'plain', target: localTarget(), passphrase: PASS, softDeleteDays: 0 });
    await expect(s.vaults.update('plain', { immutable: true })).rejects.toMatchObject({ code: 'RETENTION_BELOW_MINIMUM' });
    await expect(s.vaults.update('plain', { softDeleteDays: 14 })).rejects.toMatchObject({ code: 'RETENTION_BELOW_MINIMUM' });
    expect(await s.vaults.update('plain', { softDeleteDays: 0 })).toMatchObject({ softDeleteDays: 0, immutable: false });
  });
});
