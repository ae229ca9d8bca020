/**
 * The must-show: an alert e-mail received by a real SMTP server
 * process. An agent goes offline past the threshold; two checks send exactly
 * one alert message; when it reconnects, one resolve message follows.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { AlertMonitor } from '../../server/src/alerts/index.js';
import { openCatalog, type Catalog } from '../../server/src/catalog/index.js';
import { fakeClock } from '../catalog/harness.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { quietLog } from './harness.js';

let dataDir: string;
let catalog: Catalog;
let sink: SmtpSink;
let monitor: AlertMonitor | undefined;
const clock = fakeClock();

beforeEach(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'strata-alert-mail-'));
  catalog = await openCatalog({ dataDir, clock });
  sink = await startSmtpSink();
});
afterEach(async () => {
  await monitor?.stop();
  await catalog.close();
  await sink.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

it('e-mails an agent-offline alert once over two checks, then its resolution', async () => {
  await catalog.createNotificationChannel({
    name: 'ops-mail', kind: 'email',
    config: { host: '127.0.0.1', port: sink.port, secure: false, starttls: 'opportunistic', from: 'strata@backup.example.com', to: ['ops@example.com', 'oncall@example.com'] },
  });
  const agent = await catalog.createAgent({ name: 'fileserver', hostname: 'fs01.example.com', publicKey: 'pk-fileserver' });
  await catalog.touchAgent(agent.id, clock.now());
  const online = new Set<string>();
  monitor = new AlertMonitor({
    catalog, clock, isAgentOnline: (id) => online.has(id), dataDir, log: quietLog, serverName: 'backup01',
    thresholds: { agentOfflineMs: 5 * 60_000, diskUsedPercent: 100 },
  });

  clock.advance(6 * 60_000);
  expect((await monitor.checkNow()).raised).toHaveLength(1);
  clock.advance(60_000);
  expect((await monitor.checkNow()).raised).toHaveLength(0);
  await monitor.dispatcher.idle();
  const [mail, ...more] = await sink.waitFor(1);
  expect(more).toEqual([]);
  expect(mail!.to.sort()).toEqual(['oncall@example.com', 'ops@example.com']);
  expect(mail!.from).toBe('strata@backup.example.com');
  expect(mail!.subject).toBe("[Strata backup01] ALERT: Agent 'fileserver' is offline");
  expect(mail!.text).toContain("The protection agent 'fileserver' (fs01.example.com) has not been connected since 2026-01-15T10:00:00.000Z");
  expect(mail!.text).toContain(`agent-offline:${agent.id}`);

  online.add(agent.id);
  expect((await monitor.checkNow()).resolved).toHaveLength(1);
  await monitor.checkNow();
  await monitor.dispatcher.idle();
  const all = await sink.waitFor(2);
  expect(all).toHaveLength(2);
  expect(all[1]!.subject).toBe("[Strata backup01] RESOLVED: Agent 'fileserver' is offline");
  expect(all[1]!.text).toContain('resolved an alert');
  expect(all[1]!.text).toContain('Resolved:  2026-01-15T10:07:00.000Z');
  expect(monitor.dispatcher.stats().total).toEqual({ sent: 2, failed: 0 });
});
