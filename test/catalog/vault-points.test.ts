/** Vault targets (migration 3) and online copies of recovery points with soft delete, on both engines. */
import { expect, it } from 'vitest';
import type { Catalog } from '../../server/src/catalog/index.js';
import { describeEngines, fakeClock, hex64, SAMPLE_KEY } from './harness.js';

const MISSING = '00000000-0000-4000-8000-000000000000';
const DAY = 86_400_000;

async function point(c: Catalog, location: 'disk' | 'vault' = 'disk') {
  const agent = (await c.getAgentByName('web-01')) ?? (await c.createAgent({ hostname: 'web-01', publicKey: SAMPLE_KEY }));
  const s = (await c.getDataSourceByName(agent.id, 'docs')) ?? (await c.createDataSource({ agentId: agent.id, name: 'docs', paths: ['/docs'] }));
  return c.createRecoveryPoint({ agentId: agent.id, dataSourceId: s.id, jobId: crypto.randomUUID(), root: [hex64(1)], files: 1, dirs: 1, bytes: 1, bytesAdded: 1, location });
}

describeEngines('catalog vault targets', (h) => {
  it('cloud kinds, a secondary target, redundancy defaults and rules, soft-delete days, immutability, state', async () => {
    const c = await h.open();
    const az = { connectionString: 'DefaultEndpointsProtocol=http;AccountName=a;AccountKey=secret', container: 'strata' };
    const s3 = { kind: 's3', region: 'us-east-1', bucket: 'strata-dr', accessKeyId: 'AK', secretAccessKey: 'SK' };
    const v = await c.createVault({ name: 'cloud', kind: 'azure', config: az, secondary: { kind: 's3', config: s3 }, softDeleteDays: 30, immutable: true, vaultUid: 'ab'.repeat(16), state: 'creating' });
    // `kind` inside a target's config is dropped (it lives beside it)
    expect(v).toMatchObject({ kind: 'azure', config: az, secondary: { kind: 's3', config: { bucket: 'strata-dr', secretAccessKey: 'SK' } }, redundancy: 'GRS', softDeleteDays: 30, immutable: true, state: 'creating' });
    expect((v.secondary!.config as Record<string, unknown>).kind).toBeUndefined();
    expect(await c.getVault(v.id)).toEqual(v);
    const z = await c.createVault({ name: 'zrs', kind: 's3', config: s3, secondary: { kind: 'local', config: { path: '/mnt/b' } }, redundancy: 'ZRS' });
    expect(z).toMatchObject({ redundancy: 'ZRS', softDeleteDays: 14, immutable: false, state: 'ready', vaultUid: null });
    const bad = (input: object) => expect(c.createVault({ name: 'bad', config: { path: '/x' }, ...input } as never)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await bad({ redundancy: 'GRS' }); // no secondary
    await bad({ redundancy: 'LRS', secondary: { kind: 'local', config: { path: '/y' } } });
    await bad({ redundancy: 'RA-GRS' });
    await bad({ kind: 'azure', config: { connectionString: 'x' } }); // no container
    await bad({ secondary: { kind: 'ftp', config: {} } });
    await bad({ softDeleteDays: -1 });
    await bad({ state: 'gone' });

    expect(await c.updateVault(v.id, { state: 'ready', softDeleteDays: 0 })).toMatchObject({ state: 'ready', softDeleteDays: 0, immutable: true });
    expect(await c.updateVault(MISSING, { state: 'ready' })).toBeNull();
    expect(await c.deleteVault(z.id)).toBe(true);
    expect(await c.deleteVault(z.id)).toBe(false);
    expect((await c.listVaults()).map((x) => x.name)).toEqual(['cloud']);
  });
});

describeEngines('catalog online recovery points', (h) => {
  it('recording moves the point to both / keeps vault; idempotent; another vault is CONFLICT; unknown point or vault refused', async () => {
    const clock = fakeClock();
    const c = await h.open({ clock });
    const v = await c.createVault({ name: 'v1', config: { path: '/v1' } });
    const w = await c.createVault({ name: 'v2', config: { path: '/v2' } });
    const p = await point(c);
    const r = await c.recordVaultPoint({ pointId: p.id, vaultId: v.id, chunks: 12, bytesSent: 3456 });
    expect(r).toEqual({ pointId: p.id, vaultId: v.id, uploadedAt: clock.now(), chunks: 12, bytesSent: 3456, imported: false, deletedAt: null, purgeAfter: null });
    expect(await c.getRecoveryPoint(p.id)).toMatchObject({ location: 'both', vaultId: v.id });
    expect(await c.recordVaultPoint({ pointId: p.id, vaultId: v.id, chunks: 99, bytesSent: 0 })).toEqual(r);
    await expect(c.recordVaultPoint({ pointId: p.id, vaultId: w.id, chunks: 1, bytesSent: 0 })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(c.recordVaultPoint({ pointId: MISSING, vaultId: v.id, chunks: 1, bytesSent: 0 })).rejects.toMatchObject({ code: 'INVALID_REFERENCE' });
    const q = await point(c, 'vault');
    await expect(c.recordVaultPoint({ pointId: q.id, vaultId: MISSING, chunks: 1, bytesSent: 0 })).rejects.toMatchObject({ code: 'INVALID_REFERENCE' });
    expect(await c.getVaultPoint(q.id)).toBeNull();
    clock.advance(1000);
    await c.recordVaultPoint({ pointId: q.id, vaultId: v.id, chunks: 1, bytesSent: 0, imported: true });
    expect(await c.getRecoveryPoint(q.id)).toMatchObject({ location: 'vault', vaultId: v.id });
    expect((await c.listVaultPoints({ vaultId: v.id })).map((x) => x.pointId)).toEqual([q.id, p.id]);
    expect(await c.listVaultPoints({ vaultId: w.id })).toEqual([]);
    expect(await c.listVaultPoints({ vaultId: 'nope' })).toEqual([]);
    // a vault with online copies cannot be deleted
    await expect(c.deleteVault(v.id)).rejects.toMatchObject({ code: 'IN_USE' });
  });

  it('soft delete keeps its first times, undelete, purgeable after purgeAfter, remove: both -> disk, vault -> gone', async () => {
    const clock = fakeClock();
    const c = await h.open({ clock });
    const v = await c.createVault({ name: 'v1', config: { path: '/v1' } });
    const p = await point(c);
    const q = await point(c, 'vault');
    const child = await c.createRecoveryPoint({ ...(await point(c)), id: undefined, parentPointId: q.id, location: 'disk' });
    for (const x of [p, q]) await c.recordVaultPoint({ pointId: x.id, vaultId: v.id, chunks: 1, bytesSent: 1 });
    const deletedAt = clock.now();
    const purgeAfter = new Date(deletedAt.getTime() + 14 * DAY);
    expect(await c.softDeleteVaultPoint(p.id, purgeAfter)).toMatchObject({ deletedAt, purgeAfter });
    clock.advance(DAY);
    expect(await c.softDeleteVaultPoint(p.id, new Date(0))).toMatchObject({ deletedAt, purgeAfter });
    expect(await c.softDeleteVaultPoint(MISSING, purgeAfter)).toBeNull();
    expect((await c.listVaultPoints()).map((x) => x.pointId)).toEqual([q.id]);
    expect((await c.listVaultPoints({ state: 'deleted' })).map((x) => x.pointId)).toEqual([p.id]);
    expect(await c.listVaultPoints({ state: 'all' })).toHaveLength(2);
    expect(await c.listPurgeableVaultPoints(new Date(purgeAfter.getTime() - 1))).toEqual([]);
    expect((await c.listPurgeableVaultPoints(purgeAfter)).map((x) => x.pointId)).toEqual([p.id]);
    expect(await c.undeleteVaultPoint(p.id)).toMatchObject({ deletedAt: null, purgeAfter: null });
    expect(await c.listPurgeableVaultPoints(new Date(purgeAfter.getTime() + DAY))).toEqual([]);
    expect(await c.undeleteVaultPoint(MISSING)).toBeNull();

    expect(await c.removeVaultPoint(p.id)).toEqual({ removed: true, pointDeleted: false });
    expect(await c.getRecoveryPoint(p.id)).toMatchObject({ location: 'disk', vaultId: null });
    expect(await c.removeVaultPoint(q.id)).toEqual({ removed: true, pointDeleted: true });
    expect(await c.getRecoveryPoint(q.id)).toBeNull();
    expect((await c.getRecoveryPoint(child.id))!.parentPointId).toBeNull();
    expect(await c.removeVaultPoint(q.id)).toEqual({ removed: false, pointDeleted: false });
    // pruning a point removes its online record with it (CASCADE); the vault can then go
    const r = await point(c);
    await c.recordVaultPoint({ pointId: r.id, vaultId: v.id, chunks: 1, bytesSent: 1 });
    await c.deleteRecoveryPoint(r.id);
    expect(await c.getVaultPoint(r.id)).toBeNull();
    expect(await c.deleteVault(v.id)).toBe(true);
  });

  it('agents and data sources may be created with the ids the caller gives (disaster recovery)', async () => {
    const c = await h.open();
    const id = crypto.randomUUID();
    const a = await c.createAgent({ id, hostname: 'lost', publicKey: '' });
    expect(a.id).toBe(id);
    const sid = crypto.randomUUID();
    expect((await c.createDataSource({ id: sid, agentId: id, name: 'd', paths: ['/d'] })).id).toBe(sid);
    await expect(c.createAgent({ id: 'x', hostname: 'h', publicKey: '' })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(c.createAgent({ id, hostname: 'other', publicKey: '' })).rejects.toMatchObject({ code: 'CONFLICT' });
  });
});
