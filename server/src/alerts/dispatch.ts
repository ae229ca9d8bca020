/**
 * Fans a notification out to every enabled channel, in the background: the
 * caller (the monitor's check) returns at once and never waits on a slow
 * SMTP server or webhook. Each channel gets its notifications one at a time,
 * in the order they were raised, so a receiver never sees an alert resolved
 * before it saw it raised (even when the raise needed retries). Every
 * delivery is logged and counted; idle() lets tests and shutdown wait for
 * deliveries still in flight.
 */
import type { Alert, NotificationChannel } from '../catalog/index.js';
import type { Logger } from '../log.js';
import { alertPayload, type DeliveryOutcome, type Notification, type NotificationEvent, type Notifier } from './notifier.js';
import { createNotifier, type NotifierOptions } from './notifiers.js';

export interface DispatcherOptions {
  listChannels(): Promise<NotificationChannel[]>;
  serverName: string;
  log: Logger;
  notifier?: NotifierOptions;
  /** Replaces createNotifier (for tests that count deliveries). */
  makeNotifier?: (ch: NotificationChannel) => Notifier;
}

export interface DeliveryStats { sent: number; failed: number }

export class NotificationDispatcher {
  private readonly inFlight = new Set<Promise<unknown>>();
  /** The last delivery queued per channel id: the next one waits for it. */
  private readonly tails = new Map<string, Promise<unknown>>();
  /** Fan-outs run in order too: the channel list is read per notification. */
  private fanout: Promise<unknown> = Promise.resolve();
  private readonly counts = new Map<string, DeliveryStats>();

  constructor(private readonly opts: DispatcherOptions) {}

  /** Queues the notification for every enabled channel; returns at once, never throws. */
  notify(event: Extract<NotificationEvent, 'raised' | 'resolved'>, alert: Alert): void {
    const n: Notification = { event, alert: alertPayload(alert), server: { name: this.opts.serverName } };
    this.fanout = this.fanout.then(() => this.enqueueAll(n)).catch((e: unknown) => this.opts.log.error({ err: e, alert: alert.key }, 'could not send alert notifications'));
    this.track(this.fanout);
  }

  /** Sends to one channel now, counted and logged, and returns the outcome. */
  async deliver(ch: NotificationChannel, n: Notification): Promise<DeliveryOutcome> {
    let outcome: DeliveryOutcome;
    try {
      const notifier = this.opts.makeNotifier?.(ch) ?? createNotifier(ch, this.opts.notifier);
      outcome = await notifier.send(n);
    } catch (e) {
      outcome = { ok: false, attempts: 0, error: (e as Error).message };
    }
    const c = this.counts.get(ch.id) ?? { sent: 0, failed: 0 };
    if (outcome.ok) c.sent++;
    else c.failed++;
    this.counts.set(ch.id, c);
    const fields = { channel: ch.name, kind: ch.kind, event: n.event, alert: n.alert.key, attempts: outcome.attempts };
    if (outcome.ok) this.opts.log.info(fields, 'alert notification sent');
    else this.opts.log.warn({ ...fields, error: outcome.error }, 'alert notification failed');
    return outcome;
  }

  /** Deliveries per channel id since start. */
  stats(): { total: DeliveryStats; byChannel: Record<string, DeliveryStats> } {
    const total = { sent: 0, failed: 0 };
    for (const c of this.counts.values()) {
      total.sent += c.sent;
      total.failed += c.failed;
    }
    return { total, byChannel: Object.fromEntries(this.counts) };
  }

  /** Resolves once every delivery queued so far has ended. */
  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  private async enqueueAll(n: Notification): Promise<void> {
    for (const ch of (await this.opts.listChannels()).filter((c) => c.enabled)) {
      const p = (this.tails.get(ch.id) ?? Promise.resolve()).then(() => this.deliver(ch, n));
      this.tails.set(ch.id, p);
      this.track(p);
      void p.finally(() => { if (this.tails.get(ch.id) === p) this.tails.delete(ch.id); });
    }
  }

  private track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }
}
