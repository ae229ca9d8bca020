/**
 * E-mail notifier: one message per notification through the channel's SMTP
 * server (nodemailer), to every recipient at once. Connection failures,
 * timeouts and SMTP 4xx answers are retried; a 5xx answer (unknown recipient,
 * relaying denied) is permanent.
 */
import nodemailer from 'nodemailer';
import type { EmailConfig } from './channel-config.js';
import { mailSubject, mailText } from './message.js';
import type { DeliveryOutcome, Notification, Notifier } from './notifier.js';
import { DEFAULT_RETRY, DeliveryError, withRetries, type RetryPolicy } from './retry.js';

export interface EmailNotifierOptions {
  retry?: RetryPolicy;
  /** Connection, greeting and socket inactivity limit. */
  timeoutMs?: number;
}

export class EmailNotifier implements Notifier {
  readonly kind = 'email' as const;
  constructor(private readonly config: EmailConfig, private readonly opts: EmailNotifierOptions = {}) {}

  async send(n: Notification): Promise<DeliveryOutcome> {
    const c = this.config;
    const timeout = this.opts.timeoutMs ?? 15_000;
    const r = await withRetries(async () => {
      const transport = nodemailer.createTransport({
        host: c.host, port: c.port, secure: c.secure,
        requireTLS: c.starttls === 'required', ignoreTLS: c.starttls === 'off',
        auth: c.user ? { user: c.user, pass: c.pass ?? '' } : undefined,
        connectionTimeout: timeout, greetingTimeout: timeout, socketTimeout: timeout,
      });
      try {
        const info = await transport.sendMail({ from: c.from, to: c.to, subject: mailSubject(n), text: mailText(n) });
        if (info.rejected.length) throw new DeliveryError(`the SMTP server refused ${info.rejected.map(String).join(', ')}: ${info.response}`, false);
        return info.response;
      } catch (e) {
        if (e instanceof DeliveryError) throw e;
        throw classify(e as SmtpError, c);
      } finally {
        transport.close();
      }
    }, this.opts.retry ?? DEFAULT_RETRY);
    return r.error ? { ok: false, attempts: r.attempts, error: r.error.message } : { ok: true, attempts: r.attempts, detail: r.value };
  }
}

interface SmtpError extends Error { code?: string; responseCode?: number; response?: string }

function classify(e: SmtpError, c: EmailConfig): DeliveryError {
  const where = `SMTP ${c.host}:${c.port}`;
  // nodemailer puts the server's words in message; the password never appears there.
  if (e.responseCode) return new DeliveryError(`${where} answered ${e.responseCode}: ${e.response ?? e.message}`, e.responseCode < 500);
  if (e.code === 'EAUTH') return new DeliveryError(`${where} refused the login of '${c.user ?? ''}'`, false);
  return new DeliveryError(`${where}: ${e.message}`, true);
}
