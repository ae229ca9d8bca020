/**
 * Notification channel settings: validated on the way in (REST and CLI get a
 * 400 that names the bad field), normalized so the catalog stores one form,
 * and redacted on the way out: passwords and webhook secrets are write-only.
 */
import { invalid } from '../errors.js';
import type { NotificationChannel, NotificationChannelKind } from '../catalog/index.js';

export type StartTls = 'required' | 'opportunistic' | 'off';

export interface EmailConfig {
  host: string;
  port: number;
  /** Implicit TLS from the first byte (smtps, usually port 465). */
  secure: boolean;
  /** For a plain connection: insist on STARTTLS, use it when offered, or never. */
  starttls: StartTls;
  user?: string;
  pass?: string;
  from: string;
  to: string[];
}

export interface WebhookConfig {
  url: string;
  secret: string;
  timeoutMs: number;
}

export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
export const MIN_SECRET_LENGTH = 16;

type Input = Record<string, unknown>;
const STARTTLS: readonly StartTls[] = ['required', 'opportunistic', 'off'];
// A bare address, or `Display Name <address>`; CR/LF never (header injection).
const ADDRESS = /^[^\s@<>()",;:\\]+@[A-Za-z0-9.-]+\.?[A-Za-z0-9-]*$/;
const NAMED_ADDRESS = /^[^<>\r\n"]*<([^<>\r\n]+)>$/;

export function isEmailAddress(s: string, allowName = false): boolean {
  if (/[\r\n]/.test(s) || s.length > 320) return false;
  const named = allowName ? NAMED_ADDRESS.exec(s.trim()) : null;
  return ADDRESS.test(named ? named[1]!.trim() : s.trim());
}

const str = (v: unknown, field: string): string | undefined => {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw invalid(`${field} must be a string`);
  return v;
};

export function parseEmailConfig(input: unknown): EmailConfig {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw invalid('email config must be an object');
  const c = input as Input;
  let host = str(c.host, 'host');
  let port: number | undefined = c.port === undefined || c.port === null || c.port === '' ? undefined : Number(c.port);
  let secure = c.secure === undefined ? undefined : c.secure === true || c.secure === 'true';
  let user = str(c.user, 'user');
  let pass = str(c.pass, 'pass');
  const smtp = str(c.smtp, 'smtp');
  if (smtp) {
    let u: URL;
    try {
      u = new URL(smtp);
    } catch {
      throw invalid(`smtp must be a URL like smtp://mail.example.com:587 or smtps://mail.example.com (got '${smtp}')`);
    }
    if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') throw invalid(`smtp URL must start with smtp:// or smtps:// (got '${u.protocol}//')`);
    if (!u.hostname) throw invalid('smtp URL has no host');
    host = u.hostname.replace(/^\[(.*)\]$/, '$1');
    secure ??= u.protocol === 'smtps:';
    port ??= u.port ? Number(u.port) : secure ? 465 : 25;
    user ??= u.username ? decodeURIComponent(u.username) : undefined;
    pass ??= u.password ? decodeURIComponent(u.password) : undefined;
  }
  if (!host) throw invalid('an SMTP server is required: smtp (smtp://host:port) or host');
  if (/[\s/]/.test(host)) throw invalid(`SMTP host '${host}' is not a host name or address`);
  secure ??= false;
  port ??= secure ? 465 : 25;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(`SMTP port must be 1..65535 (got ${String(c.port ?? port)})`);
  const starttls = (str(c.starttls, 'starttls') ?? 'opportunistic') as StartTls;
  if (!STARTTLS.includes(starttls)) throw invalid(`starttls must be one of ${STARTTLS.join(', ')} (got '${starttls}')`);
  if (pass && !user) throw invalid('an SMTP password needs a user');
  const from = str(c.from, 'from');
  if (!from || !isEmailAddress(from, true)) throw invalid(`from must be an e-mail address (got '${from ?? ''}')`);
  const to = typeof c.to === 'string' ? [c.to] : c.to;
  if (!Array.isArray(to) || !to.length) throw invalid('to must list at least one e-mail address');
  for (const t of to) if (typeof t !== 'string' || !isEmailAddress(t)) throw invalid(`'${String(t)}' in to is not an e-mail address`);
  return { host, port, secure, starttls, ...(user ? { user } : {}), ...(pass ? { pass } : {}), from, to: [...new Set(to as string[])] };
}

export function parseWebhookConfig(input: unknown): WebhookConfig {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw invalid('webhook config must be an object');
  const c = input as Input;
  const raw = str(c.url, 'url');
  if (!raw) throw invalid('url is required (http:// or https://)');
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw invalid(`url must be an absolute http:// or https:// URL (got '${raw}')`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid(`url must be http:// or https:// (got '${u.protocol}//')`);
  // Credentials in the URL would be echoed by every GET; the secret is the authentication.
  if (u.username || u.password) throw invalid('url must not contain a user or password: the signature authenticates Strata');
  const secret = str(c.secret, 'secret');
  if (!secret || secret.length < MIN_SECRET_LENGTH) throw invalid(`secret must be at least ${MIN_SECRET_LENGTH} characters (it keys the HMAC-SHA256 signature)`);
  const timeoutMs = c.timeoutMs === undefined ? DEFAULT_WEBHOOK_TIMEOUT_MS : Number(c.timeoutMs);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 120_000) throw invalid(`timeoutMs must be 100..120000 (got ${String(c.timeoutMs)})`);
  return { url: u.toString(), secret, timeoutMs };
}

export function parseChannelConfig(kind: unknown, config: unknown): { kind: NotificationChannelKind; config: EmailConfig | WebhookConfig } {
  if (kind === 'email') return { kind, config: parseEmailConfig(config) };
  if (kind === 'webhook') return { kind, config: parseWebhookConfig(config) };
  throw invalid(`kind must be 'email' or 'webhook' (got '${String(kind)}')`);
}

/** A channel as the API shows it: secrets replaced by whether one is set. */
export function publicChannel(ch: NotificationChannel) {
  const { pass, secret, ...rest } = ch.config as Input;
  const hidden = ch.kind === 'email' ? { passwordSet: typeof pass === 'string' && pass.length > 0 } : { secretSet: typeof secret === 'string' && secret.length > 0 };
  return { ...ch, config: { ...rest, ...hidden } };
}
