/** Alerts (raised once, resolved) and notification channels on both engines. */
import { expect, it } from 'vitest';
import type { NewAlert } from '../../server/src/catalog/index.js';
import { describeEngines, fakeClock } from './harness.js';

const MISSING = '00000000-0000-4000-8000-000000000000';
const OFFLINE: NewAlert = {
  key: 'agent-offline:web-01',
  kind: 'agent-offline',
  severity: 'warning',
  subject: 'agent web-01 offline',
  message: 'not seen for 30 minutes',
  details: { agent: 'web-01', minutes: 30 },
};

describeEngines('catalog alerts', (h) => {
  it('raise once, resolve, raise again; history kept', async () => {
    const clock = fakeClock();
    const c = await h.open({ clock });
    const first = await c.raiseAlert(OFFLINE);
    expect(first).toEqual({
      created: true,
      alert: {
        id: expect.any(String), ...OFFLINE, state: 'active', raisedAt: clock.now(), resolvedAt: null,
      },
    });
    clock.advance(60_000);
    const again = await c.raiseAlert({ ...OFFLINE, message: 'not seen for 31 minutes' });
    expect(again).toEqual({ created: false, alert: first.alert });
    expect(await c.getAlert(first.alert.id)).toEqual(first.alert);

    clock.advance(60_000);
    const resolved = await c.resolveAlert(OFFLINE.key);
    expect(resolved).toEqual({ ...first.alert, state: 'resolved', resolvedAt: clock.now() });
    expect(await c.resolveAlert(OFFLINE.key)).toBeNull();
    expect(await c.getAlert(first.alert.id)).toEqual(resolved);

    clock.advance(60_000);
    const third = await c.raiseAlert(OFFLINE);
    expect(third.created).toBe(true);
    expect(third.alert.id).not.toBe(first.alert.id);
    expect((await c.listAlerts()).map((a) => [a.id, a.state])).toEqual([[third.alert.id, 'active'], [first.alert.id, 'resolved']]);
    expect((await c.listAlerts({ state: 'resolved' })).map((a) => a.id)).toEqual([first.alert.id]);
    expect((await c.listAlerts({ state: 'active', limit: 1 })).map((a) => a.id)).toEqual([third.alert.id]);
    expect(await c.resolveAlert('no-such-key')).toBeNull();
    expect(await c.getAlert(MISSING)).toBeNull();
    expect(await c.getAlert('x')).toBeNull();
  });

  it('details default to null; bad kind, severity or key are refused', async () => {
    const c = await h.open();
    const { alert } = await c.raiseAlert({ key: 'disk-space', kind: 'disk-space', severity: 'error', subject: 's', message: 'm' });
    expect(alert.details).toBeNull();
    await expect(c.raiseAlert({ ...OFFLINE, kind: 'meteor' as never })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(c.raiseAlert({ ...OFFLINE, severity: 'info' as never })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(c.raiseAlert({ ...OFFLINE, key: '' })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(c.listAlerts({ state: 'open' as never })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('concurrent raises of one key create exactly one alert', async () => {
    const c = await h.open();
    const results = await Promise.all(Array.from({ length: 8 }, () => c.raiseAlert(OFFLINE)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.alert.id)).size).toBe(1);
    expect(await c.listAlerts()).toHaveLength(1);
  });

  // Two catalogs on one PostgreSQL database are two servers' worth of pools: a real race.
  it.runIf(h.engine === 'postgres')('concurrent raises from two catalogs create exactly one alert', async () => {
    const [a, b] = await Promise.all([h.open(), h.open()]);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).raiseAlert(OFFLINE)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(await a.listAlerts({ state: 'active' })).toHaveLength(1);
  });

  it('an existing active alert inside a transaction does not poison it', async () => {
    const c = await h.open();
    await c.raiseAlert(OFFLINE);
    const r = await c.transaction(async (tx) => {
      const again = await tx.raiseAlert(OFFLINE);
      const other = await tx.raiseAlert({ ...OFFLINE, key: 'agent-offline:web-02' });
      return [again.created, other.created];
    });
    expect(r).toEqual([false, true]);
    expect(await c.listAlerts({ state: 'active' })).toHaveLength(2);
  });
});

describeEngines('catalog notification channels', (h) => {
  it('create, list, get, update, delete; names unique; kind and config checked', async () => {
    const clock = fakeClock();
    const c = await h.open({ clock });
    const mail = await c.createNotificationChannel({ name: 'ops-mail', kind: 'email', config: { to: ['ops@example.org'], smtp: { host: '127.0.0.1', port: 2525 } } });
    expect(mail).toEqual({
      id: expect.any(String), name: 'ops-mail', kind: 'email',
      config: { to: ['ops@example.org'], smtp: { host: '127.0.0.1', port: 2525 } }, enabled: true, createdAt: clock.now(),
    });
    clock.advance(1);
    const hook = await c.createNotificationChannel({ name: 'hook', kind: 'webhook', config: { url: 'http://x' }, enabled: false });
    expect(hook.enabled).toBe(false);
    expect(await c.listNotificationChannels()).toEqual([mail, hook]);
    expect(await c.getNotificationChannel(hook.id)).toEqual(hook);
    expect(await c.getNotificationChannel('x')).toBeNull();

    const hook2 = await c.updateNotificationChannel(hook.id, { enabled: true, config: { url: 'http://y' } });
    expect(hook2).toEqual({ ...hook, enabled: true, config: { url: 'http://y' } });
    expect(await c.updateNotificationChannel(MISSING, { enabled: true })).toBeNull();

    await expect(c.createNotificationChannel({ name: 'hook', kind: 'webhook', config: {} })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(c.createNotificationChannel({ name: 'sms', kind: 'sms' as never, config: {} })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(c.createNotificationChannel({ name: 'x', kind: 'webhook', config: 'http://x' as never })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });

    expect(await c.deleteNotificationChannel(mail.id)).toBe(true);
    expect(await c.deleteNotificationChannel(mail.id)).toBe(false);
    expect(await c.listNotificationChannels()).toEqual([hook2]);
  });
});
