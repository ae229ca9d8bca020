/** /groups, /policies and /vaults through the real koa app, on both catalog engines. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../server/src/catalog/index.js';
import { pgAvailable } from '../helpers/pg.js';
import { apiHarness, type ApiHarness } from './harness.js';

const WEEKLY = {
  schedule: { frequency: 'weekly', weekdays: ['sun'], times: ['22:00'] },
  retention: { daily: { count: 30 }, weekly: { count: 12, weekday: 'sun' }, monthly: { count: 12, day: 'first-sun' }, yearly: { count: 5, month: 1, day: 1 } },
  timeZone: 'Europe/Stockholm',
};
const ENGINES: Engine[] = ['sqlite', ...((await pgAvailable()) ? (['postgres'] as const) : [])];

for (const engine of ENGINES) {
  describe(`protection API [${engine}]`, () => {
    let h: ApiHarness;
    beforeEach(async () => { h = await apiHarness(engine); });
    afterEach(async () => { await h.close(); });

    it('group create: range checks are 400 and name the allowed range', async () => {
      const freq = await h.call('POST', '/groups', { name: 'g', syncFrequency: '20m', retentionDays: 14 });
      expect(freq.status).toBe(400);
      expect(freq.body.error.message).toMatch(/15m, 30m, 45m, 1h, 2h, 4h, 6h, 12h, 24h \(got 20m\)/);
      const days = await h.call('POST', '/groups', { name: 'g', syncFrequency: '15m', retentionDays: 449 });
      expect(days.status).toBe(400);
      expect(days.body.error.message).toMatch(/from 1 to 448 days/);
      const cap = await h.call('POST', '/groups', { name: 'g', syncFrequency: '1h', retentionDays: 5, maxPoints: 0 });
      expect(cap.status).toBe(400);
      expect(cap.body.error.message).toMatch(/from 1 to 9999/);
      expect((await h.call('GET', '/groups')).body).toEqual([]);
      expect(h.hooks).toEqual([]);
    });

    it('group create, list (member count, policy name), show (members), edit, delete', async () => {
      const pol = await h.call('POST', '/policies', { name: 'weekly', spec: WEEKLY });
      expect(pol.status).toBe(201);
      const g = await h.call('POST', '/groups', { name: 'servers', syncFrequency: '15m', retentionDays: 14, onlinePolicy: 'weekly' });
      expect(g.status).toBe(201);
      expect(g.body).toMatchObject({ name: 'servers', syncFrequencyMinutes: 15, syncFrequency: '15m', retentionDays: 14, maxPoints: 64, state: 'active', onlinePolicy: 'weekly', onlinePolicyId: pol.body.id, memberCount: 0 });
      const s = await h.source('etc');
      expect((await h.call('POST', '/groups/servers/members', { dataSource: 'etc' })).body).toMatchObject({ id: s.id, groupId: g.body.id });

      const list = await h.call('GET', '/groups');
      expect(list.body).toEqual([expect.objectContaining({ name: 'servers', memberCount: 1, onlinePolicy: 'weekly' })]);
      const show = await h.call('GET', `/groups/${g.body.id}`);
      expect(show.body.members).toEqual([expect.objectContaining({ id: s.id, name: 'etc', agentName: 'host-1' })]);

      const edit = await h.call('PATCH', '/groups/servers', { syncFrequency: '1h', maxPoints: 200, onlinePolicy: null });
      expect(edit.status).toBe(200);
      expect(edit.body).toMatchObject({ syncFrequencyMinutes: 60, retentionDays: 14, maxPoints: 200, onlinePolicyId: null, onlinePolicy: null });
      const bad = await h.call('PATCH', '/groups/servers', { retentionDays: 0 });
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toMatch(/1 to 448 days/);
      expect((await h.call('PATCH', '/groups/servers', { state: 'stopped' })).status).toBe(400);
      expect((await h.call('POST', '/groups', { name: 'servers', syncFrequency: '15m', retentionDays: 1 })).status).toBe(409);
      expect((await h.call('POST', '/groups', { name: 'x', syncFrequency: '15m', retentionDays: 1, onlinePolicy: 'nope' })).status).toBe(404);

      expect((await h.call('DELETE', '/groups/servers')).status).toBe(204);
      expect((await h.call('GET', '/groups/servers')).status).toBe(404);
      expect((await h.catalog.getDataSource(s.id))!.groupId).toBeNull();
      // Every change reached the scheduler.
      expect(h.hooks.filter(([k]) => k === 'group').map(([, id]) => id)).toEqual(Array(4).fill(g.body.id));
    });

    it('a data source in two groups is refused with 409 naming the group', async () => {
      await h.source('home');
      for (const name of ['a', 'b']) await h.call('POST', '/groups', { name, syncFrequency: '30m', retentionDays: 7 });
      expect((await h.call('POST', '/groups/a/members', { dataSource: 'home' })).status).toBe(200);
      expect((await h.call('POST', '/groups/a/members', { dataSource: 'home' })).status).toBe(200); // same group: no-op
      const r = await h.call('POST', '/groups/b/members', { dataSource: 'home' });
      expect(r.status).toBe(409);
      expect(r.body.error.message).toBe("data source 'home' is already in protection group 'a': remove it from that group first");
      expect((await h.call('DELETE', '/groups/b/members/home')).status).toBe(404);
      expect((await h.call('DELETE', '/groups/a/members/home')).status).toBe(204);
      expect((await h.call('POST', '/groups/b/members', { dataSource: 'home' })).status).toBe(200);
      expect((await h.call('GET', '/groups/b')).body.memberCount).toBe(1);
    });

    it('stop keeps the points; stop with deleteData prunes every member point and says how many; resume', async () => {
      const a = await h.source('a', 3);
      const b = await h.source('b', 2);
      const outside = await h.source('outside', 1);
      await h.call('POST', '/groups', { name: 'g', syncFrequency: '15m', retentionDays: 14 });
      for (const s of ['a', 'b']) await h.call('POST', '/groups/g/members', { dataSource: s });

      const keep = await h.call('POST', '/groups/g/stop', { deleteData: false });
      expect(keep.body).toMatchObject({ state: 'stopped', pruned: 0 });
      expect(await h.catalog.listRecoveryPoints()).toHaveLength(6);
      expect((await h.call('POST', '/groups/g/resume')).body.state).toBe('active');

      expect((await h.call('POST', '/groups/g/stop', { deleteData: 'yes' })).status).toBe(400);
      const del = await h.call('POST', '/groups/g/stop', { deleteData: true });
      expect(del.body).toMatchObject({ state: 'stopped', pruned: 5 });
      expect(await h.catalog.listRecoveryPoints({ dataSourceId: a.id })).toEqual([]);
      expect(await h.catalog.listRecoveryPoints({ dataSourceId: b.id })).toEqual([]);
      expect(await h.catalog.listRecoveryPoints({ dataSourceId: outside.id })).toHaveLength(1);
      expect((await h.call('GET', '/groups/g')).body).toMatchObject({ state: 'stopped', memberCount: 2 });
    });

    it('policies: spec validated (400 naming the range), get by name, patch calls policyChanged, in use cannot be deleted', async () => {
      const times = await h.call('POST', '/policies', { name: 'p', spec: { ...WEEKLY, schedule: { frequency: 'daily', times: ['01:00', '02:00', '03:00', '04:00'] } } });
      expect(times.status).toBe(400);
      expect(times.body.error.message).toMatch(/schedule.times must list 1 to 3 times/);
      const zone = await h.call('POST', '/policies', { name: 'p', spec: { ...WEEKLY, timeZone: 'Mars/Olympus' } });
      expect(zone.status).toBe(400);
      expect(zone.body.error.message).toMatch(/IANA time zone/);
      expect((await h.call('POST', '/policies', { name: 'p' })).status).toBe(400);

      const p = await h.call('POST', '/policies', { name: 'p', spec: WEEKLY });
      expect(p.status).toBe(201);
      expect(p.body).toMatchObject({ name: 'p', spec: WEEKLY, groups: [] });
      expect((await h.call('POST', '/policies', { name: 'p', spec: WEEKLY })).status).toBe(409);
      expect((await h.call('GET', '/policies/p')).body.id).toBe(p.body.id);
      expect((await h.call('GET', '/policies/nope')).status).toBe(404);

      const daily = { schedule: { frequency: 'daily', times: ['21:00'] }, retention: { daily: { count: 7 } } };
      const u = await h.call('PATCH', '/policies/p', { spec: daily });
      expect(u.status).toBe(200);
      expect(u.body.spec).toEqual({ ...daily, timeZone: 'UTC' });
      expect(h.hooks).toEqual([['policy', p.body.id]]);
      expect((await h.call('PATCH', '/policies/p', { spec: { ...daily, retention: { daily: { count: 0 } } } })).status).toBe(400);

      await h.call('POST', '/groups', { name: 'g', syncFrequency: '15m', retentionDays: 14, onlinePolicy: 'p' });
      expect((await h.call('GET', '/policies')).body).toEqual([expect.objectContaining({ name: 'p', groups: ['g'] })]);
      const del = await h.call('DELETE', '/policies/p');
      expect(del.status).toBe(409);
      expect(del.body.error).toMatchObject({ code: 'IN_USE', message: "online policy 'p' is used by protection group 'g'" });
      await h.call('PATCH', '/groups/g', { onlinePolicy: null });
      expect((await h.call('DELETE', '/policies/p')).status).toBe(204);
      expect((await h.call('GET', '/policies')).body).toEqual([]);
    });

    it('vaults: creating one creates DefaultPolicy once; path defaults under the data dir', async () => {
      const passphrase = 'a long enough vault passphrase';
      const v = await h.call('POST', '/vaults', { name: 'offsite', passphrase });
      expect(v.status).toBe(201);
      expect(v.body).toMatchObject({ name: 'offsite', kind: 'local', config: { path: `${h.dataDir}/vault/offsite` }, redundancy: 'LRS', state: 'ready', defaultPolicy: { name: 'DefaultPolicy', created: true } });
      const dp = await h.call('GET', '/policies/DefaultPolicy');
      expect(dp.body.spec).toEqual({ schedule: { frequency: 'daily', times: ['22:00'] }, retention: { daily: { count: 30 } }, timeZone: 'UTC' });

      const elsewhere = `${h.dataDir}/elsewhere/vault2`;
      const w = await h.call('POST', '/vaults', { name: 'second', path: elsewhere, passphrase });
      expect(w.body).toMatchObject({ config: { path: elsewhere }, defaultPolicy: { id: dp.body.id, created: false } });
      expect((await h.call('GET', '/policies')).body).toHaveLength(1);
      expect((await h.call('GET', '/vaults')).body.map((x: { name: string }) => x.name)).toEqual(['offsite', 'second']);

      expect((await h.call('POST', '/vaults', { name: 'offsite', passphrase })).status).toBe(409);
      expect((await h.call('POST', '/vaults', { name: '../etc', passphrase })).status).toBe(400);
      expect((await h.call('POST', '/vaults', { name: 'rel', path: 'relative/dir', passphrase })).status).toBe(400);
      expect((await h.call('POST', '/vaults', { name: 'short', passphrase: 'too short' })).body.error.code).toBe('VAULT_PASSPHRASE_TOO_SHORT');
      expect((await h.call('GET', '/vaults')).body).toHaveLength(2);
    });
  });
}

describe('protection API without a scheduler', () => {
  it('works when ctx.protection is absent (the hooks are optional)', async () => {
    const h = await apiHarness('sqlite', { withHooks: false });
    try {
      expect((await h.call('POST', '/groups', { name: 'g', syncFrequency: '24h', retentionDays: 448, maxPoints: 9999 })).body).toMatchObject({ syncFrequencyMinutes: 1440 });
      await h.call('POST', '/policies', { name: 'p', spec: WEEKLY });
      expect((await h.call('PATCH', '/policies/p', { name: 'q' })).body.name).toBe('q');
    } finally {
      await h.close();
    }
  });
});
