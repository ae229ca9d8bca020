/**
 * `strata alerts …` and `strata notifications …`: thin wrappers over the
 * REST API (/alerts, /notifications). Every list has --json. Secrets may come
 * from the environment instead of the command line, where other users of the
 * machine could read them in the process list.
 */
import type { Command } from 'commander';
import { StrataError } from '../errors.js';
import { ApiClient, type ClientOptions } from './client.js';
import { table } from './format.js';

type Row = Record<string, unknown>;
const out = (s: string) => process.stdout.write(s + '\n');
const json = (v: unknown) => out(JSON.stringify(v, null, 2));
const collect = (v: string, prev: string[] = []) => [...prev, v];
const enc = encodeURIComponent;

export function alertCommands(program: Command) {
  const api = () => ApiClient.fromOptions(program.opts<ClientOptions>());

  const alerts = program.command('alerts').description('alerts: failed jobs, offline agents, missed SLAs, disk space');
  alerts.command('list').description('active alerts (with --all, resolved ones too)')
    .option('--all', 'active and resolved').option('--resolved', 'only resolved').option('--limit <n>', 'at most this many, newest first', '100').option('--json')
    .action(async (o: { all?: boolean; resolved?: boolean; limit: string; json?: boolean }) => {
      const state = o.all ? 'all' : o.resolved ? 'resolved' : 'active';
      const list = await api().get<Row[]>(`/alerts?state=${state}&limit=${enc(o.limit)}`);
      if (o.json) { json(list); return; }
      if (!list.length) { out(state === 'active' ? 'no active alerts' : 'no alerts'); return; }
      out(table(list.map((a) => ({ ...a, resolved: a.resolvedAt ?? '' })), ['id', 'state', 'severity', 'kind', 'raisedAt', 'resolved', 'subject']));
    });
  alerts.command('show <alert>').option('--json').action(async (id: string, o: { json?: boolean }) => {
    const a = await api().get<Row>(`/alerts/${enc(id)}`);
    if (o.json) { json(a); return; }
    for (const [k, v] of Object.entries(a)) out(`${k.padEnd(11)} ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`);
  });

  const ch = program.command('notifications').description('where alert notifications go: e-mail and webhooks');
  ch.command('add-email <name>').description('send alerts by e-mail through an SMTP server')
    .requiredOption('--smtp <url>', 'smtp://host[:port] (STARTTLS when offered) or smtps://host[:port] (TLS)')
    .requiredOption('--from <address>', 'sender address')
    .requiredOption('--to <address>', 'recipient (repeatable)', collect)
    .option('--user <user>', 'SMTP login')
    .option('--password <password>', 'SMTP password (default: STRATA_SMTP_PASSWORD)')
    .option('--starttls <mode>', 'required | opportunistic | off', 'opportunistic')
    .option('--disabled', 'create it switched off').option('--json')
    .action(async (name: string, o: { smtp: string; from: string; to: string[]; user?: string; password?: string; starttls: string; disabled?: boolean; json?: boolean }) => {
      const pass = o.password ?? process.env.STRATA_SMTP_PASSWORD;
      const config = { smtp: o.smtp, from: o.from, to: o.to, starttls: o.starttls, ...(o.user ? { user: o.user } : {}), ...(pass ? { pass } : {}) };
      show(await api().post<Row>('/notifications', { name, kind: 'email', config, enabled: !o.disabled }), o.json);
    });
  ch.command('add-webhook <name>').description('POST alerts as signed JSON to a URL')
    .requiredOption('--url <url>', 'http:// or https:// URL')
    .option('--secret <secret>', 'HMAC key, at least 16 characters (default: STRATA_WEBHOOK_SECRET)')
    .option('--timeout <ms>', 'per request', '10000')
    .option('--disabled', 'create it switched off').option('--json')
    .action(async (name: string, o: { url: string; secret?: string; timeout: string; disabled?: boolean; json?: boolean }) => {
      const secret = o.secret ?? process.env.STRATA_WEBHOOK_SECRET;
      if (!secret) throw new StrataError('INVALID_REQUEST', 'a webhook needs --secret or STRATA_WEBHOOK_SECRET: receivers verify the signature with it', 'invalid');
      show(await api().post<Row>('/notifications', { name, kind: 'webhook', config: { url: o.url, secret, timeoutMs: Number(o.timeout) }, enabled: !o.disabled }), o.json);
    });
  ch.command('list').option('--json').action(async (o: { json?: boolean }) => {
    const list = await api().get<Row[]>('/notifications');
    if (o.json) { json(list); return; }
    out(table(list.map((c) => ({ ...c, enabled: c.enabled ? 'yes' : 'no', target: target(c) })), ['name', 'id', 'kind', 'enabled', 'target']));
  });
  ch.command('remove <channel>').description('delete a channel (by name or id)').action(async (ref: string) => {
    await api().delete(`/notifications/${enc(ref)}`);
    out(`notification channel ${ref} removed`);
  });
  ch.command('test <channel>').description('send a test message now and show what the receiver answered').option('--json')
    .action(async (ref: string, o: { json?: boolean }) => {
      const r = await api().post<{ channel: string; ok: boolean; attempts: number; detail?: string; error?: string }>(`/notifications/${enc(ref)}/test`);
      if (o.json) json(r);
      else out(r.ok ? `test message sent through '${r.channel}': ${r.detail ?? 'ok'}` : `test message through '${r.channel}' failed: ${r.error}`);
      if (!r.ok) process.exitCode = 1;
    });
}

function target(c: Row): string {
  const cfg = c.config as Row;
  return c.kind === 'email' ? `smtp ${String(cfg.host)}:${String(cfg.port)} -> ${(cfg.to as string[]).join(', ')}` : String(cfg.url);
}

function show(c: Row, asJson?: boolean) {
  if (asJson) json(c);
  else out(`notification channel '${String(c.name)}' added (${String(c.id)}): ${target(c)}`);
}
