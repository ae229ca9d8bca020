/**
 * Alerts and notification channels. Alerts are read-only here (the monitor
 * raises and resolves them); channels are created, listed, deleted and
 * tested. Channel secrets (SMTP passwords, webhook secrets) are write-only:
 * no response carries them.
 */
import os from 'node:os';
import type Router from '@koa/router';
import { createNotifier, parseChannelConfig, publicChannel, type Notification } from '../../alerts/index.js';
import { ALERT_STATES, type AlertState } from '../../catalog/index.js';
import { conflict, invalid, notFound } from '../../errors.js';
import { body, type ApiContext } from '../context.js';

export async function resolveChannel(ctx: ApiContext, ref: string) {
  const ch = (await ctx.catalog.getNotificationChannel(ref)) ?? (await ctx.catalog.listNotificationChannels()).find((c) => c.name === ref);
  if (!ch) throw notFound('notification channel', ref);
  return ch;
}

function channelName(v: unknown): string {
  if (typeof v !== 'string' || !v.trim()) throw invalid('name is required');
  if (v.length > 100 || /[\u0000-\u001f]/.test(v)) throw invalid('name must be at most 100 characters, without control characters');
  return v.trim();
}

export function alertRoutes(r: Router, ctx: ApiContext) {
  r.get('/alerts', async (c) => {
    const state = String(c.query.state ?? 'active');
    if (state !== 'all' && !ALERT_STATES.includes(state as AlertState)) throw invalid(`state must be active, resolved or all (got '${state}')`);
    const limit = c.query.limit === undefined ? 100 : Number(c.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw invalid('limit must be 1..1000');
    c.body = await ctx.catalog.listAlerts({ state: state === 'all' ? undefined : (state as AlertState), limit });
  });
  r.get('/alerts/:id', async (c) => {
    const a = await ctx.catalog.getAlert(c.params.id!);
    if (!a) throw notFound('alert', c.params.id!);
    c.body = a;
  });

  r.get('/notifications', async (c) => {
    c.body = (await ctx.catalog.listNotificationChannels()).map(publicChannel);
  });
  r.get('/notifications/:id', async (c) => {
    c.body = publicChannel(await resolveChannel(ctx, c.params.id!));
  });
  r.post('/notifications', async (c) => {
    const b = body(c);
    const name = channelName(b.name);
    const { kind, config } = parseChannelConfig(b.kind, b.config);
    if (b.enabled !== undefined && typeof b.enabled !== 'boolean') throw invalid('enabled must be true or false');
    if ((await ctx.catalog.listNotificationChannels()).some((ch) => ch.name === name)) throw conflict(`a notification channel named '${name}' already exists`);
    c.status = 201;
    c.body = publicChannel(await ctx.catalog.createNotificationChannel({ name, kind, config, enabled: b.enabled as boolean | undefined }));
  });
  r.delete('/notifications/:id', async (c) => {
    const ch = await resolveChannel(ctx, c.params.id!);
    await ctx.catalog.deleteNotificationChannel(ch.id);
    c.status = 204;
  });
  // Sends one message now, without retries, so the admin sees the receiver's answer at once.
  r.post('/notifications/:id/test', async (c) => {
    const ch = await resolveChannel(ctx, c.params.id!);
    const now = new Date().toISOString();
    const n: Notification = {
      event: 'test',
      server: { name: os.hostname() },
      alert: {
        id: '00000000-0000-0000-0000-000000000000', key: `test:${ch.id}`, kind: 'test', severity: 'warning', state: 'active',
        subject: `Test message for notification channel '${ch.name}'`,
        message: `If you can read this, Strata alerts reach you through the ${ch.kind} channel '${ch.name}'.`,
        details: null, raisedAt: now, resolvedAt: null,
      },
    };
    c.body = { channel: ch.name, ...(await createNotifier(ch, { retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 } }).send(n)) };
  });
}
