/**
 * The notifiers against real receivers: an SMTP server process (smtp-sink)
 * and a local HTTP server. Checks what arrives, the webhook signature, and
 * that failures come back as outcomes with the right retry behaviour.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseEmailConfig, parseWebhookConfig } from '../../server/src/alerts/channel-config.js';
import type { Notification } from '../../server/src/alerts/notifier.js';
import { EmailNotifier } from '../../server/src/alerts/notify-email.js';
import { WebhookNotifier } from '../../server/src/alerts/notify-webhook.js';
import { signWebhook, verifyWebhook } from '../../server/src/alerts/signature.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

const FAST = { attempts: 3, baseDelayMs: 20, maxDelayMs: 100 };
const SECRET = 'correct horse battery staple';

const note = (event: Notification['event'] = 'raised'): Notification => ({
  event,
  server: { name: 'backup01' },
  alert: {
    id: '6f1c0d3e-0000-4000-8000-000000000001', key: 'agent-offline:a1', kind: 'agent-offline', severity: 'warning', state: 'active',
    subject: "Agent 'fileserver' is offline", message: 'Not connected since 2026-01-15T10:00:00.000Z.', details: { agentName: 'fileserver' },
    raisedAt: '2026-01-15T11:01:00.000Z', resolvedAt: null,
  },
});

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.allSettled(cleanups.map((c) => c()));
  cleanups = [];
});
const sink = async (o?: Parameters<typeof startSmtpSink>[0]): Promise<SmtpSink> => {
  const s = await startSmtpSink(o);
  cleanups.push(s.stop);
  return s;
};
const receiver = async (respond?: Parameters<typeof startWebhookReceiver>[0]): Promise<WebhookReceiver> => {
  const r = await startWebhookReceiver(respond);
  cleanups.push(r.close);
  return r;
};

describe('e-mail notifier (real SMTP server process)', () => {
  it('delivers one message to every recipient with the alert in subject and body', async () => {
    const s = await sink();
    const n = new EmailNotifier(parseEmailConfig({ smtp: s.url, from: 'Strata <strata@example.com>', to: ['ops@example.com', 'oncall@example.com'] }), { retry: FAST });
    const outcome = await n.send(note());
    expect(outcome).toMatchObject({ ok: true, attempts: 1 });
    const [m, ...more] = await s.waitFor(1);
    expect(more).toHaveLength(0);
    expect(m!.from).toBe('strata@example.com');
    expect(m!.to.sort()).toEqual(['oncall@example.com', 'ops@example.com']);
    expect(m!.subject).toBe("[Strata backup01] ALERT: Agent 'fileserver' is offline");
    expect(m!.text).toContain('Not connected since 2026-01-15T10:00:00.000Z.');
    expect(m!.text).toContain('agent-offline (warning)');
  });

  it('logs in with user and password; a wrong password is a permanent failure, not retried', async () => {
    const s = await sink({ user: 'strata', pass: 's3cret-pass' });
    const good = new EmailNotifier(parseEmailConfig({ smtp: s.url, user: 'strata', pass: 's3cret-pass', from: 'a@example.com', to: 'b@example.com' }), { retry: FAST });
    expect((await good.send(note())).ok).toBe(true);
    expect((await s.waitFor(1))[0]!.user).toBe('strata');
    const bad = new EmailNotifier(parseEmailConfig({ smtp: s.url, user: 'strata', pass: 'wrong-pass', from: 'a@example.com', to: 'b@example.com' }), { retry: FAST });
    const out = await bad.send(note());
    expect(out).toMatchObject({ ok: false, attempts: 1 });
    expect(out.error).toMatch(/535|refused the login/);
    expect(out.error).not.toContain('wrong-pass');
  });

  it('retries a temporary SMTP refusal (451) and then delivers', async () => {
    const s = await sink({ failFirst: 1 });
    const n = new EmailNotifier(parseEmailConfig({ smtp: s.url, from: 'a@example.com', to: ['b@example.com'] }), { retry: FAST });
    expect(await n.send(note())).toMatchObject({ ok: true, attempts: 2 });
    expect(await s.waitFor(1)).toHaveLength(1);
  });

  it('reports an unreachable SMTP server as an outcome after its retries', async () => {
    const s = await sink();
    const port = s.port;
    await s.stop();
    const n = new EmailNotifier(parseEmailConfig({ host: '127.0.0.1', port, from: 'a@example.com', to: ['b@example.com'] }), { retry: FAST, timeoutMs: 2000 });
    const out = await n.send(note());
    expect(out).toMatchObject({ ok: false, attempts: 3 });
    expect(out.error).toMatch(/ECONNREFUSED|connect/i);
  });
});

describe('webhook notifier (real HTTP server)', () => {
  it('POSTs the JSON body with a signature the receiver can verify, and a wrong secret does not verify', async () => {
    const r = await receiver();
    const now = new Date('2026-01-15T11:01:00Z');
    const n = new WebhookNotifier(parseWebhookConfig({ url: r.url, secret: SECRET }), { retry: FAST, now: () => now });
    expect(await n.send(note())).toMatchObject({ ok: true, attempts: 1, detail: 'HTTP 200' });
    expect(r.received).toHaveLength(1);
    const { headers, body } = r.received[0]!;
    expect(headers['content-type']).toBe('application/json');
    const ts = headers['x-strata-timestamp'] as string;
    const sig = headers['x-strata-signature'] as string;
    expect(ts).toBe(String(now.getTime() / 1000));
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(sig).toBe(signWebhook(SECRET, ts, body));
    expect(verifyWebhook(SECRET, { timestamp: ts, signature: sig }, body, { now })).toEqual({ ok: true });
    expect(verifyWebhook('not the right secret at all', { timestamp: ts, signature: sig }, body, { now })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyWebhook(SECRET, { timestamp: ts, signature: sig }, body.replace('fileserver', 'fileserveR'), { now })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyWebhook(SECRET, { timestamp: String(Number(ts) + 1), signature: sig }, body, { now })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyWebhook(SECRET, { timestamp: ts, signature: sig }, body, { now: new Date(now.getTime() + 3600_000) })).toEqual({ ok: false, reason: 'stale-timestamp' });
    const parsed = JSON.parse(body);
    expect(parsed).toEqual({ event: 'raised', alert: note().alert, server: { name: 'backup01' } });
  });

  it('retries 5xx with backoff, then succeeds', async () => {
    const r = await receiver((i) => (i < 3 ? 503 : 200));
    const n = new WebhookNotifier(parseWebhookConfig({ url: r.url, secret: SECRET }), { retry: FAST });
    expect(await n.send(note())).toMatchObject({ ok: true, attempts: 3 });
    expect(r.received.map((x) => x.status)).toEqual([503, 503, 200]);
  });

  it('does not retry a 4xx: the receiver refused the request', async () => {
    const r = await receiver(() => 401);
    const n = new WebhookNotifier(parseWebhookConfig({ url: r.url, secret: SECRET }), { retry: FAST });
    const out = await n.send(note());
    expect(out).toMatchObject({ ok: false, attempts: 1 });
    expect(out.error).toContain('HTTP 401');
    expect(r.received).toHaveLength(1);
  });

  it('gives up on a receiver that never answers, after its timeout per try', async () => {
    const r = await receiver(() => 'hang');
    const n = new WebhookNotifier(parseWebhookConfig({ url: r.url, secret: SECRET, timeoutMs: 200 }), { retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 10 } });
    const t0 = Date.now();
    const out = await n.send(note());
    expect(out).toMatchObject({ ok: false, attempts: 2 });
    expect(out.error).toMatch(/no answer within 200 ms/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe('channel settings', () => {
  it('normalizes an smtp URL and refuses bad addresses, URLs and short secrets with the field named', () => {
    expect(parseEmailConfig({ smtp: 'smtps://u:p%40ss@mail.example.com', from: 'a@example.com', to: 'b@example.com' }))
      .toEqual({ host: 'mail.example.com', port: 465, secure: true, starttls: 'opportunistic', user: 'u', pass: 'p@ss', from: 'a@example.com', to: ['b@example.com'] });
    expect(() => parseEmailConfig({ smtp: 'http://mail', from: 'a@example.com', to: ['b@example.com'] })).toThrow(/smtp:\/\/ or smtps:\/\//);
    expect(() => parseEmailConfig({ smtp: 'smtp://mail', from: 'a@example.com', to: ['not-an-address'] })).toThrow(/'not-an-address' in to is not an e-mail address/);
    expect(() => parseEmailConfig({ smtp: 'smtp://mail', from: 'a@example.com\r\nBcc: x@evil', to: ['b@example.com'] })).toThrow(/from must be an e-mail address/);
    expect(() => parseEmailConfig({ smtp: 'smtp://mail:70000', from: 'a@example.com', to: ['b@example.com'] })).toThrow(/smtp must be a URL|port/);
    expect(() => parseEmailConfig({ from: 'a@example.com', to: ['b@example.com'] })).toThrow(/SMTP server is required/);
    expect(() => parseWebhookConfig({ url: 'ftp://x', secret: SECRET })).toThrow(/http:\/\/ or https:\/\//);
    expect(() => parseWebhookConfig({ url: 'not a url', secret: SECRET })).toThrow(/absolute http/);
    expect(() => parseWebhookConfig({ url: 'https://u:p@hooks.example.com/', secret: SECRET })).toThrow(/must not contain a user or password/);
    expect(() => parseWebhookConfig({ url: 'https://hooks.example.com/', secret: 'short' })).toThrow(/at least 16 characters/);
  });
});
