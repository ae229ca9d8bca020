/** Vaults, online policies, protection groups and membership on both engines. */
import { expect, it } from 'vitest';
import type { Catalog } from '../../server/src/catalog/index.js';
import { describeEngines, fakeClock, hex64, SAMPLE_KEY } from './harness.js';

const MISSING = '00000000-0000-4000-8000-000000000000';
const SPEC = {
  schedule: { frequency: 'weekly', weekdays: ['sun'], times: ['22:00'] },
  retention: { daily: { count: 30 }, monthly: { count: 12, day: 'first-sun' } },
  timeZone: 'Europe/Stockholm',
};
const SHORT = { syncFrequencyMinutes: 15, retentionDays: 14, maxPoints: 64 };

async function sources(c: Catalog, n: number) {
  const agent = await c.createAgent({ hostname: 'web-01', publicKey: SAMPLE_KEY });
  const out = [];
  for (let i = 0; i < n; i++) out.push(await c.createDataSource({ agentId: agent.id, name: `s${i}`, paths: [`/s${i}`] }));
  return { agent, sources: out };
}

describeEngines('catalog vaults', (h) => {
  it('create, get, getByName, list; names are unique', async () => {
    const clock = fakeClock();
    const c = await h.open({ clock });
    const v = await c.createVault({ name: 'offsite', config: { path: '/data/vault/offsite' } });
    expect(v).toEqual({
      id: expect.any(String), name: 'offsite', kind: 'local', config: { path: '/data/vault/offsite' }, createdAt: clock.now(),
      secondary: null, redundancy: 'LRS', softDeleteDays: 14, immutable: false, vaultUid: null, state: 'ready',
    });
    clock.advance(5);
    const w = await c.createVault({ name: 'second', kind: 'local', config: { path: '/x' } });
    expect(await c.getVault(v.id)).toEqual(v);
    expect(await c.getVault('nope')).toBeNull();
    expect(await c.getVaultByName('second')).toEqual(w);
    expect(await c.getVaultByName('third')).toBeNull();
    expect(await c.listVaults()).toEqual([v, w]);
    await expect(c.createVault({ name: 'offsite', config: { path: '/y' } })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(c.createVault({ name: 'bad', kind: 's3' as never, config: { path: '/y' } })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(c.createVault({ name: 'bad', config: {} as never })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('recovery points record their vault; an unknown vault is refused', async () => {
    const c = await h.open();
    const { agent, sources: [s] } = await sources(c, 1);
    const v = await c.createVault({ name: 'offsite', config: { path: '/v' } });
    const base = { agentId: agent.id, dataSourceId: s!.id, jobId: crypto.randomUUID(), root: [hex64(1)], files: 1, dirs: 1, bytes: 1, bytesAdded: 1 };
    const p1 = await c.createRecoveryPoint(base);
    expect(p1.vaultId).toBeNull();
    const p2 = await c.createRecoveryPoint({ ...base, location: 'vault', vaultId: v.id });
    expect(await c.getRecoveryPoint(p2.id)).toMatchObject({ location: 'vault', vaultId: v.id });
    expect(await c.setRecoveryPointLocation(p1.id, 'both', v.id)).toBe(true);
    expect((await c.listRecoveryPoints({ vaultId: v.id })).map((p) => p.id).sort()).toEqual([p1.id, p2.id].sort());
    expect(await c.setRecoveryPointLocation(p1.id, 'disk', null)).toBe(true);
    expect(await c.getRecoveryPoint(p1.id)).toMatchObject({ location: 'disk', vaultId: null });
    // Leaving vaultId out keeps it.
    expect(await c.setRecoveryPointLocation(p2.id, 'both')).toBe(true);
    expect(await c.getRecoveryPoint(p2.id)).toMatchObject({ location: 'both', vaultId: v.id });
    await expect(c.setRecoveryPointLocation(p1.id, 'vault', MISSING)).rejects.toMatchObject({ code: 'INVALID_REFERENCE' });
  });
});

describeEngines('catalog online policies', (h) => {
  it('create, get, list, update (updatedAt moves), delete; spec comes back parsed', async () => {
    const clock = fakeClock();
    const c = await h.open({ clock });
    const p = await c.createOnlinePolicy({ name: 'weekly', spec: SPEC });
    expect(p).toEqual({ id: expect.any(String), name: 'weekly', spec: SPEC, createdAt: clock.now(), updatedAt: clock.now() });
    expect(await c.getOnlinePolicy(p.id)).toEqual(p);
    expect(await c.getOnlinePolicyByName('weekly')).toEqual(p);
    expect(await c.getOnlinePolicy('x')).toBeNull();
    clock.advance(1000);
    const spec2 = { ...SPEC, retention: { daily: { count: 7 } } };
    const p2 = await c.updateOnlinePolicy(p.id, { name: 'short', spec: spec2 });
    expect(p2).toEqual({ ...p, name: 'short', spec: spec2, updatedAt: clock.now() });
    expect(await c.listOnlinePolicies()).toEqual([p2]);
    expect(await c.updateOnlinePolicy(MISSING, { name: 'z' })).toBeNull();
    expect(await c.deleteOnlinePolicy(p.id)).toBe(true);
    expect(await c.deleteOnlinePolicy(p.id)).toBe(false);
    expect(await c.listOnlinePolicies()).toEqual([]);
  });

  it('refuses a duplicate name and a spec that is not a JSON object', async () => {
    const c = await h.open();
    const p = await c.createOnlinePolicy({ name: 'a', spec: SPEC });
    await c.createOnlinePolicy({ name: 'b', spec: SPEC });
    await expect(c.createOnlinePolicy({ name: 'a', spec: {} })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(c.updateOnlinePolicy(p.id, { name: 'b' })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(c.createOnlinePolicy({ name: 'c', spec: [1, 2] })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(c.createOnlinePolicy({ name: '', spec: {} })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('cannot be deleted while a group uses it (IN_USE naming the group)', async () => {
    const c = await h.open();
    const p = await c.createOnlinePolicy({ name: 'weekly', spec: SPEC });
    const g = await c.createProtectionGroup({ name: 'servers', ...SHORT, onlinePolicyId: p.id });
    await expect(c.deleteOnlinePolicy(p.id)).rejects.toMatchObject({ code: 'IN_USE', message: expect.stringContaining("'servers'") });
    expect(await c.getOnlinePolicy(p.id)).not.toBeNull();
    await c.updateProtectionGroup(g.id, { onlinePolicyId: null });
    expect(await c.deleteOnlinePolicy(p.id)).toBe(true);
  });
});

describeEngines('catalog protection groups', (h) => {
  it('create (defaults), get, getByName, list, update, delete', async () => {
    const clock = fakeClock();
    const c = await h.open({ clock });
    const pol = await c.createOnlinePolicy({ name: 'p', spec: SPEC });
    const g = await c.createProtectionGroup({ name: 'servers', ...SHORT });
    expect(g).toEqual({
      id: expect.any(String), name: 'servers', ...SHORT, onlinePolicyId: null, state: 'active',
      createdAt: clock.now(), updatedAt: clock.now(),
    });
    clock.advance(10);
    const g2 = await c.createProtectionGroup({ name: 'laptops', syncFrequencyMinutes: 60, retentionDays: 5, maxPoints: 100, onlinePolicyId: pol.id, state: 'stopped' });
    expect(g2).toMatchObject({ onlinePolicyId: pol.id, state: 'stopped' });
    expect(await c.getProtectionGroup(g.id)).toEqual(g);
    expect(await c.getProtectionGroupByName('laptops')).toEqual(g2);
    expect(await c.getProtectionGroup('nope')).toBeNull();
    expect(await c.listProtectionGroups()).toEqual([g, g2]);

    clock.advance(10);
    const u = await c.updateProtectionGroup(g.id, { retentionDays: 30, onlinePolicyId: pol.id, state: 'stopped' });
    expect(u).toEqual({ ...g, retentionDays: 30, onlinePolicyId: pol.id, state: 'stopped', updatedAt: clock.now() });
    expect(await c.updateProtectionGroup(MISSING, { retentionDays: 1 })).toBeNull();

    expect(await c.deleteProtectionGroup(g.id)).toBe(true);
    expect(await c.deleteProtectionGroup(g.id)).toBe(false);
    expect(await c.listProtectionGroups()).toEqual([g2]);
  });

  it('refuses duplicate names, an unknown policy, and numbers that are not positive integers', async () => {
    const c = await h.open();
    const g = await c.createProtectionGroup({ name: 'a', ...SHORT });
    await c.createProtectionGroup({ name: 'b', ...SHORT });
    await expect(c.createProtectionGroup({ name: 'a', ...SHORT })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(c.updateProtectionGroup(g.id, { name: 'b' })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(c.createProtectionGroup({ name: 'c', ...SHORT, onlinePolicyId: MISSING })).rejects.toMatchObject({ code: 'INVALID_REFERENCE' });
    await expect(c.updateProtectionGroup(g.id, { onlinePolicyId: MISSING })).rejects.toMatchObject({ code: 'INVALID_REFERENCE' });
    await expect(c.createProtectionGroup({ name: 'c', ...SHORT, retentionDays: 0 })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(c.createProtectionGroup({ name: 'c', ...SHORT, maxPoints: 1.5 })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(c.updateProtectionGroup(g.id, { state: 'paused' as never })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    expect(await c.getProtectionGroup(g.id)).toMatchObject({ name: 'a', state: 'active' });
  });

  it('membership: at most one group per source; same group is a no-op; removal; listGroupMembers', async () => {
    const c = await h.open();
    const { sources: [s0, s1] } = await sources(c, 2);
    const a = await c.createProtectionGroup({ name: 'a', ...SHORT });
    const b = await c.createProtectionGroup({ name: 'b', ...SHORT });

    expect(await c.setDataSourceGroup(s0!.id, a.id)).toEqual({ ...s0, groupId: a.id });
    expect(await c.setDataSourceGroup(s0!.id, a.id)).toEqual({ ...s0, groupId: a.id });
    await c.setDataSourceGroup(s1!.id, a.id);
    expect((await c.listGroupMembers(a.id)).map((s) => s.name)).toEqual(['s0', 's1']);

    await expect(c.setDataSourceGroup(s0!.id, b.id)).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining("already in protection group 'a'"),
    });
    expect((await c.getDataSource(s0!.id))!.groupId).toBe(a.id);
    expect(await c.listGroupMembers(b.id)).toEqual([]);

    expect(await c.setDataSourceGroup(s0!.id, null)).toEqual({ ...s0, groupId: null });
    expect(await c.setDataSourceGroup(s0!.id, b.id)).toMatchObject({ groupId: b.id });
    expect(await c.setDataSourceGroup(MISSING, b.id)).toBeNull();
    await expect(c.setDataSourceGroup(s1!.id, MISSING)).rejects.toMatchObject({ code: 'INVALID_REFERENCE' });
    expect(await c.listGroupMembers('nope')).toEqual([]);
  });

  it('of concurrent adds of one free source to two groups exactly one wins', async () => {
    const c = await h.open();
    const { sources: [s] } = await sources(c, 1);
    const groups = await Promise.all(['a', 'b', 'c', 'd'].map((name) => c.createProtectionGroup({ name, ...SHORT })));
    const results = await Promise.allSettled(groups.map((g) => c.setDataSourceGroup(s!.id, g.id)));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'CONFLICT' });
    const owner = (await c.getDataSource(s!.id))!.groupId;
    expect(groups.map((g) => g.id)).toContain(owner);
  });

  it('deleting a group keeps its data sources and clears their groupId', async () => {
    const c = await h.open();
    const { sources: [s0, s1] } = await sources(c, 2);
    const g = await c.createProtectionGroup({ name: 'a', ...SHORT });
    await c.setDataSourceGroup(s0!.id, g.id);
    await c.setDataSourceGroup(s1!.id, g.id);
    expect(await c.deleteProtectionGroup(g.id)).toBe(true);
    expect((await c.listDataSources()).map((s) => [s.name, s.groupId])).toEqual([['s0', null], ['s1', null]]);
  });

  it('membership works inside a transaction and rolls back with it', async () => {
    const c = await h.open();
    const { sources: [s] } = await sources(c, 1);
    const a = await c.createProtectionGroup({ name: 'a', ...SHORT });
    const b = await c.createProtectionGroup({ name: 'b', ...SHORT });
    await c.setDataSourceGroup(s!.id, a.id);
    // An expected CONFLICT inside a PostgreSQL transaction must not poison it.
    const got = await c.transaction(async (tx) => {
      await expect(tx.setDataSourceGroup(s!.id, b.id)).rejects.toMatchObject({ code: 'CONFLICT' });
      return tx.setDataSourceGroup(s!.id, null);
    });
    expect(got?.groupId).toBeNull();
    await expect(
      c.transaction(async (tx) => {
        await tx.setDataSourceGroup(s!.id, b.id);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect((await c.getDataSource(s!.id))!.groupId).toBeNull();
  });
});
