/**
 * The one interface every notification channel implements, and the message it
 * carries. A notifier delivers; it never decides what to send or when (the
 * monitor does) and never throws: a failed delivery is an outcome, so one bad
 * channel cannot stop an alert check or the other channels.
 */
import type { Alert, Json, NotificationChannelKind } from '../catalog/index.js';

/** 'test' is only sent by `strata notifications test` / POST /notifications/:id/test. */
export type NotificationEvent = 'raised' | 'resolved' | 'test';

/** An alert as it travels (webhook JSON body, e-mail text): times as ISO-8601 strings. */
export interface AlertPayload {
  id: string;
  key: string;
  kind: string;
  severity: string;
  state: string;
  subject: string;
  message: string;
  details: Json;
  raisedAt: string;
  resolvedAt: string | null;
}

export interface Notification {
  event: NotificationEvent;
  alert: AlertPayload;
  /** Which Strata server sent it (several may report to one receiver). */
  server: { name: string };
}

export interface DeliveryOutcome {
  ok: boolean;
  /** Tries made, retries included. */
  attempts: number;
  /** What the receiver answered (SMTP response, HTTP status), when it answered. */
  detail?: string;
  /** Why the delivery failed; never contains a secret. */
  error?: string;
}

export interface Notifier {
  readonly kind: NotificationChannelKind;
  /**
   * Delivers one notification, retrying transient failures within its own
   * bounds. Resolves with the outcome; MUST NOT reject.
   */
  send(n: Notification): Promise<DeliveryOutcome>;
}

export function alertPayload(a: Alert): AlertPayload {
  return {
    id: a.id, key: a.key, kind: a.kind, severity: a.severity, state: a.state,
    subject: a.subject, message: a.message, details: a.details,
    raisedAt: a.raisedAt.toISOString(), resolvedAt: a.resolvedAt ? a.resolvedAt.toISOString() : null,
  };
}
