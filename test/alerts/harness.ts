/**
 * What the monitor tests share: a catalog on a fake clock, a real webhook
 * receiver registered as a channel (so every notification is a real HTTP
 * request we can count), and a monitor whose agents are online when the test
 * says so.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AlertMonitor, type AlertThresholds } from '../../server/src/alerts/index.js';
import type { Catalog } from '../../server/src/catalog/index.js';
import { log } from '../../server/src/log.js';
import { fakeClock, hex64, type CatalogHarness } from '../catalog/harness.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

export const SECRET = 'webhook-secret-for-tests';
export const quietLog = log.child({}, { level: 'silent' });

export interface MonitorRig {
  catalog: Catalog;
  clock: ReturnType<typeof fakeClock>;
  online: Set<string>;
  hook: WebhookReceiver;
  dataDir: string;
  monitor(thresholds?: Partial<AlertThresholds>, dataDir?: string): AlertMonitor;
  /** `event:key` of every notification received so far, in order (after every monitor's deliveries in flight end). */
  events(): Promise<string[]>;
  close(): Promise<void>;
}

export async function monitorRig(h: CatalogHarness): Promise<MonitorRig> {
  const clock = fakeClock();
  const catalog = await h.open({ clock });
  const hook = await startWebhookReceiver();
  await catalog.createNotificationChannel({ name: 'ops-hook', kind: 'webhook', config: { url: hook.url, secret: SECRET, timeoutMs: 5000 } });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'strata-alerts-'));
  const online = new Set<string>();
  const monitors: AlertMonitor[] = [];
  return {
    catalog, clock, online, hook, dataDir,
    monitor(thresholds = {}, dir = dataDir) {
      // The disk check is off (100%) unless a test sets it: the host's disk must not add alerts.
      const m = new AlertMonitor({
        catalog, clock, isAgentOnline: (id) => online.has(id), dataDir: dir, log: quietLog, serverName: 'test-server',
        thresholds: { diskUsedPercent: 100, ...thresholds }, notifier: { retry: { attempts: 1, baseDelayMs: 10, maxDelayMs: 10 } },
      });
      monitors.push(m);
      return m;
    },
    async events() {
      await Promise.all(monitors.map((m) => m.dispatcher.idle()));
      return hook.received.map((r) => JSON.parse(r.body) as { event: string; alert: { key: string } }).map((b) => `${b.event}:${b.alert.key}`);
    },
    async close() {
      await Promise.allSettled(monitors.map((m) => m.stop()));
      await hook.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let n = 0;
/** An agent with one data source. */
export async function agentWithSource(catalog: Catalog, name = `agent-${++n}`) {
  const agent = await catalog.createAgent({ name, hostname: `${name}.example.com`, publicKey: `key-${name}-${Math.random()}` });
  const source = await catalog.createDataSource({ agentId: agent.id, name: `${name}-docs`, paths: ['/srv/docs'] });
  return { agent, source };
}

/** A finished job of this type on the source (or a server job when source is null). */
export async function finishedJob(catalog: Catalog, type: 'backup' | 'restore' | 'gc' | 'verify', source: { id: string; agentId: string } | null, state: 'succeeded' | 'failed', error = 'the agent disconnected', params?: Record<string, unknown>) {
  const job = await catalog.createJob({ type, dataSourceId: source?.id ?? null, agentId: source?.agentId ?? null, state: 'running', ...(params ? { params: params as never } : {}) });
  return catalog.finishJob(job.id, state, state === 'failed' ? { errorMessage: error } : {});
}

/** A recovery point of the source, made now (by the catalog's clock). */
export async function newPoint(catalog: Catalog, source: { id: string; agentId: string }) {
  const job = await finishedJob(catalog, 'backup', source, 'succeeded');
  return catalog.createRecoveryPoint({ dataSourceId: source.id, agentId: source.agentId, jobId: job.id, root: [hex64(1)], files: 1, dirs: 1, bytes: 10, bytesAdded: 10 });
}
