/**
 * Channels and alerts through the REST API and the `strata` CLI, against a
 * real server: add channels (e-mail, webhook), list them with secrets hidden,
 * clear 400s for bad settings, send a test message, list alerts as JSON.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../server/src/server.js';
import { verifyWebhook } from '../../server/src/alerts/signature.js';
import { okJson, strataCli } from '../helpers/cli.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { quietLog } from './harness.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

const SECRET = 'a-webhook-secret-of-some-length';
const PASSWORD = 'smtp-password-never-shown';
let dir: string;
let server: RunningServer;
let sink: SmtpSink;
let hook: WebhookReceiver;
let env: Record<string, string>;

const api = async (method: string, p: string, body?: unknown) => {
  const res = await fetch(`${server.url}/api/v1${p}`, {
    method, headers: { authorization: `Bearer ${server.adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
  });
  // `any`: each test reads the fields it asserts.
  return { status: res.status, body: (res.status === 204 ? null : await res.json()) as any };
};

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'strata-alerts-api-'));
  server = await startServer({ dataDir: dir, insecure: true, port: 0, log: quietLog });
  sink = await startSmtpSink({ user: 'strata', pass: PASSWORD });
  hook = await startWebhookReceiver();
  env = { STRATA_URL: server.url, STRATA_TOKEN: server.adminToken, STRATA_DATA: '' };
});
afterAll(async () => {
  await server?.close();
  await sink?.stop();
  await hook?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('notification channels and alerts (API and CLI)', () => {
  it('adds channels with the CLI, lists them without secrets, and tests them', async () => {
    const mail = await okJson(strataCli(['notifications', 'add-email', 'ops-mail', '--smtp', sink.url, '--from', 'strata@example.com', '--to', 'ops@example.com', '--to', 'dba@example.com', '--user', 'strata', '--json'], { ...env, STRATA_SMTP_PASSWORD: PASSWORD }));
    expect(mail).toMatchObject({ name: 'ops-mail', kind: 'email', enabled: true, config: { host: '127.0.0.1', port: sink.port, user: 'strata', passwordSet: true, to: ['ops@example.com', 'dba@example.com'] } });
    expect(JSON.stringify(mail)).not.toContain(PASSWORD);
    const wh = await okJson(strataCli(['notifications', 'add-webhook', 'ops-hook', '--url', hook.url, '--secret', SECRET, '--json'], env));
    expect(wh.config).toEqual({ url: hook.url, timeoutMs: 10000, secretSet: true });

    const list = await okJson<Record<string, unknown>[]>(strataCli(['notifications', 'list', '--json'], env));
    expect(list.map((c) => c.name).sort()).toEqual(['ops-hook', 'ops-mail']);
    const listed = JSON.stringify(list) + JSON.stringify((await api('GET', '/notifications/ops-hook')).body);
    expect(listed).not.toContain(SECRET);
    expect(listed).not.toContain(PASSWORD);

    const t = await okJson(strataCli(['notifications', 'test', 'ops-mail', '--json'], env));
    expect(t).toMatchObject({ channel: 'ops-mail', ok: true, attempts: 1 });
    const [m] = await sink.waitFor(1);
    expect(m!.user).toBe('strata');
    expect(m!.subject).toContain("TEST: Test message for notification channel 'ops-mail'");
    const th = await api('POST', '/notifications/ops-hook/test');
    expect(th.body).toMatchObject({ ok: true, detail: 'HTTP 200' });
    const got = hook.received[0]!;
    expect(verifyWebhook(SECRET, { timestamp: got.headers['x-strata-timestamp'] as string, signature: got.headers['x-strata-signature'] as string }, got.body)).toEqual({ ok: true });
    expect(JSON.parse(got.body).event).toBe('test');
  });

  it('refuses bad settings with a 400 (CLI exit 2) that names the problem, and a duplicate name with 409', async () => {
    const bad = await strataCli(['notifications', 'add-email', 'bad', '--smtp', 'mail.example.com', '--from', 'a@example.com', '--to', 'b@example.com'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/smtp must be a URL like smtp:\/\//);
    expect(await api('POST', '/notifications', { name: 'x', kind: 'email', config: { smtp: 'smtp://mail', from: 'a@example.com', to: ['nobody'] } }))
      .toEqual({ status: 400, body: { error: { code: 'INVALID_REQUEST', message: "'nobody' in to is not an e-mail address" } } });
    expect((await api('POST', '/notifications', { name: 'x', kind: 'webhook', config: { url: 'file:///etc/passwd', secret: SECRET } })).status).toBe(400);
    expect((await api('POST', '/notifications', { name: 'x', kind: 'pager', config: {} })).body.error.message).toMatch(/kind must be 'email' or 'webhook'/);
    expect((await api('POST', '/notifications', { name: 'ops-hook', kind: 'webhook', config: { url: hook.url, secret: SECRET } })).status).toBe(409);
  });

  it('lists alerts with --json (active by default, --all with resolved) and removes a channel', async () => {
    const raise = (key: string) => server.catalog.raiseAlert({ key, kind: 'disk-space', severity: 'warning', subject: `subject ${key}`, message: 'm' });
    await raise('one');
    await raise('two');
    await server.catalog.resolveAlert('one');
    const active = await okJson<{ key: string; state: string }[]>(strataCli(['alerts', 'list', '--json'], env));
    expect(active.map((a) => [a.key, a.state])).toEqual([['two', 'active']]);
    const all = await okJson<{ key: string }[]>(strataCli(['alerts', 'list', '--all', '--json'], env));
    expect(all.map((a) => a.key).sort()).toEqual(['one', 'two']);
    const one = (await api('GET', `/alerts/${(all.find((a) => a.key === 'one') as unknown as { id: string }).id}`)).body;
    expect(one).toMatchObject({ key: 'one', state: 'resolved' });
    expect((await api('GET', '/alerts?state=bogus')).status).toBe(400);
    expect((await api('GET', '/alerts/00000000-0000-4000-8000-000000000000')).status).toBe(404);

    const rm = await strataCli(['notifications', 'remove', 'ops-hook'], env);
    expect(rm.code).toBe(0);
    expect((await api('GET', '/notifications')).body.map((c: { name: string }) => c.name)).toEqual(['ops-mail']);
    expect((await api('DELETE', '/notifications/ops-hook')).status).toBe(404);
  });
});
