/**
 * The alert monitor: every `intervalMs` (default 60 s) it evaluates each
 * condition against the catalog and turns the findings into alerts. An alert
 * is raised once (the catalog's raiseAlert dedups on its key) and resolved
 * once; only those two transitions notify, to every enabled channel, in the
 * background. A failing condition is logged and the others still run.
 */
import os from 'node:os';
import fs from 'node:fs/promises';
import type { Alert, AlertKind, Catalog, Clock, NotificationChannel } from '../catalog/index.js';
import type { Logger } from '../log.js';
import { agentOffline } from './conditions/agent-offline.js';
import { diskSpace } from './conditions/disk-space.js';
import { jobFailed } from './conditions/job-failed.js';
import { missedSla } from './conditions/missed-sla.js';
import { DEFAULT_THRESHOLDS, type AlertThresholds, type Condition, type ConditionContext, type DiskUsage } from './conditions/types.js';
import { NotificationDispatcher } from './dispatch.js';
import type { Notifier } from './notifier.js';
import type { NotifierOptions } from './notifiers.js';

export const DEFAULT_CHECK_INTERVAL_MS = 60_000;

export interface MonitorOptions {
  catalog: Catalog;
  clock: Clock;
  isAgentOnline(agentId: string): boolean;
  /** The server's data dir: its file system is the one disk-space watches. */
  dataDir: string;
  thresholds?: Partial<AlertThresholds>;
  log: Logger;
  intervalMs?: number;
  /** Names this server in notifications; default the host name. */
  serverName?: string;
  notifier?: NotifierOptions;
  makeNotifier?: (ch: NotificationChannel) => Notifier;
  /** Replaces fs.statfs. */
  statfs?: (dir: string) => Promise<DiskUsage>;
}

export interface CheckReport {
  raised: Alert[];
  resolved: Alert[];
  /** Conditions that could not be evaluated this time. */
  errors: { kind: AlertKind; error: string }[];
}

const CONDITIONS: [AlertKind, Condition][] = [
  ['job-failed', jobFailed],
  ['agent-offline', agentOffline],
  ['missed-sla', missedSla],
  ['disk-space', diskSpace],
];

export class AlertMonitor {
  readonly dispatcher: NotificationDispatcher;
  readonly thresholds: AlertThresholds;
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private readonly startedAt: Date;

  constructor(private readonly opts: MonitorOptions) {
    this.thresholds = { ...DEFAULT_THRESHOLDS, ...opts.thresholds };
    this.startedAt = opts.clock.now();
    this.dispatcher = new NotificationDispatcher({
      listChannels: () => opts.catalog.listNotificationChannels(),
      serverName: opts.serverName ?? os.hostname(),
      log: opts.log,
      notifier: { now: () => opts.clock.now(), ...opts.notifier },
      makeNotifier: opts.makeNotifier,
    });
  }

  /** Starts the periodic check (the first one after one interval). */
  start(): void {
    if (this.timer || this.stopped) return;
    const tick = () => {
      this.timer = null;
      void this.checkNow()
        .catch((e: unknown) => this.opts.log.error({ err: e }, 'alert check failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.opts.intervalMs ?? DEFAULT_CHECK_INTERVAL_MS).unref();
        });
    };
    this.timer = setTimeout(tick, this.opts.intervalMs ?? DEFAULT_CHECK_INTERVAL_MS).unref();
  }

  /** Stops the timer and waits for a running check and the notifications in flight. Call before closing the catalog. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.chain.catch(() => undefined);
    await this.dispatcher.idle();
  }

  /**
   * Runs one check now (tests, and the scheduler after a job ends). Checks
   * never overlap: a call during a check runs after it. Notifications are sent
   * in the background; `dispatcher.idle()` waits for them.
   */
  checkNow(): Promise<CheckReport> {
    const run = this.chain.catch(() => undefined).then(() => this.check());
    this.chain = run;
    return run;
  }

  private async check(): Promise<CheckReport> {
    const { catalog, log } = this.opts;
    const ctx: ConditionContext = {
      catalog, now: this.opts.clock.now(), startedAt: this.startedAt, isAgentOnline: (id) => this.opts.isAgentOnline(id), dataDir: this.opts.dataDir,
      thresholds: this.thresholds, statfs: this.opts.statfs ?? ((dir) => fs.statfs(dir)),
    };
    const active = await catalog.listAlerts({ state: 'active', limit: 1000 });
    const report: CheckReport = { raised: [], resolved: [], errors: [] };
    for (const [kind, condition] of CONDITIONS) {
      try {
        const found = await condition(ctx, active.filter((a) => a.kind === kind));
        for (const input of found.raise) {
          const { alert, created } = await catalog.raiseAlert(input);
          if (!created) continue;
          report.raised.push(alert);
          log.warn({ alert: alert.key, subject: alert.subject }, 'alert raised');
          this.dispatcher.notify('raised', alert);
        }
        for (const key of found.resolve) {
          const alert = await catalog.resolveAlert(key);
          if (!alert) continue;
          report.resolved.push(alert);
          log.info({ alert: alert.key, subject: alert.subject }, 'alert resolved');
          this.dispatcher.notify('resolved', alert);
        }
      } catch (e) {
        report.errors.push({ kind, error: (e as Error).message });
        log.error({ err: e, kind }, 'alert condition could not be checked');
      }
    }
    return report;
  }
}
