/** Builds the notifier for a stored channel. */
import type { NotificationChannel } from '../catalog/index.js';
import { parseEmailConfig, parseWebhookConfig } from './channel-config.js';
import type { Notifier } from './notifier.js';
import { EmailNotifier } from './notify-email.js';
import type { RetryPolicy } from './retry.js';
import { WebhookNotifier } from './notify-webhook.js';

export interface NotifierOptions {
  retry?: RetryPolicy;
  now?: () => Date;
}

/** Throws StrataError INVALID_REQUEST if the stored config no longer validates. */
export function createNotifier(ch: Pick<NotificationChannel, 'kind' | 'config'>, opts: NotifierOptions = {}): Notifier {
  return ch.kind === 'email' ? new EmailNotifier(parseEmailConfig(ch.config), opts) : new WebhookNotifier(parseWebhookConfig(ch.config), opts);
}
