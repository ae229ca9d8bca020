/**
 * Alerts (`server/src/alerts`): tells the admin when something needs them.
 *
 * Owns: the conditions (a failed job, an agent offline too long, a missed
 * sync SLA, a full server disk), the monitor that checks them periodically,
 * and the notifiers (e-mail over SMTP, signed webhooks) behind one Notifier
 * interface. Alerts and channels themselves live in the catalog.
 *
 * Promises: an alert is raised once per condition and resolved once when it
 * clears; exactly those two transitions notify; a slow or broken channel
 * never blocks or breaks a check. Contract and webhook format:
 * docs/protection.md, "Alerts".
 *
 * ```
 * monitor.ts           AlertMonitor: periodic check, checkNow(), raise/resolve + notify
 * conditions/*.ts      one file per alert kind; pure reads returning findings
 * dispatch.ts          fan-out to enabled channels in the background, counted
 * notifier.ts          the Notifier interface and the notification payload
 * notify-email.ts      SMTP (nodemailer)
 * notify-webhook.ts    HTTP POST, signed, timeout, retries
 * signature.ts         the webhook HMAC: sign and verify
 * channel-config.ts    channel settings: validate, normalize, hide secrets
 * message.ts           e-mail subject and text
 * retry.ts             bounded exponential backoff
 * ```
 */
export { AlertMonitor, DEFAULT_CHECK_INTERVAL_MS, type CheckReport, type MonitorOptions } from './monitor.js';
export { DEFAULT_THRESHOLDS, type AlertThresholds } from './conditions/types.js';
export { NotificationDispatcher } from './dispatch.js';
export { alertPayload, type Notification, type Notifier, type DeliveryOutcome, type AlertPayload } from './notifier.js';
export { createNotifier } from './notifiers.js';
export { parseChannelConfig, publicChannel, type EmailConfig, type WebhookConfig } from './channel-config.js';
export { signWebhook, verifyWebhook, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './signature.js';
