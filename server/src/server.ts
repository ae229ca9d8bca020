/**
 * Starts a Strata server: catalog, chunk store, TLS identity, admin credential,
 * REST API and agent gateway on one port, the vault service, and the
 * scheduler that runs the protection groups. `startServer` is what the `strata server` command and the
 * tests call.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { AlertMonitor, type MonitorOptions } from './alerts/index.js';
import { createApp } from './api/app.js';
import { ChunkStore } from './chunk-store/index.js';
import { openCatalog, type Catalog } from './catalog/index.js';
import { AgentGateway } from './gateway/gateway.js';
import { JobService } from './jobs/job-service.js';
import { log as defaultLog, type Logger } from './log.js';
import { parseTimeZone } from './retention/index.js';
import { startProtection, systemClock, TestClock, type Clock, type JobQueue, type Protection, type ProtectionService, type QueueOptions, type Scheduler } from './scheduler/index.js';
import { adminTokenPath, loadOrCreateAdminToken } from './services/admin-credential.js';
import type { VaultBandwidth } from './services/vault-bandwidth.js';
import { workHoursLimit } from './vault/index.js';
import { sharedVaultService, type VaultService } from './services/vault-service.js';
import { loadOrCreateTls } from './tls.js';
import { writeFileDurable } from './util/durable.js';

/**
 * TLS 1.3 suites, AES-128-GCM first: with AES-NI it is the cheapest strong
 * suite, and every backed-up byte goes through it twice (agent and server).
 */
const TLS_CIPHERS = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384';

export const serverInfoPath = (dataDir: string) => path.join(dataDir, 'server.json');

export interface ServerOptions {
  dataDir: string;
  host?: string;
  port?: number;
  databaseUrl?: string;
  /** Plain HTTP / ws, for tests only. */
  insecure?: boolean;
  tlsKeyFile?: string;
  tlsCertFile?: string;
  log?: Logger;
  /** Source of "now" for the catalog, the scheduler and the queue (default: the system clock). */
  clock?: Clock;
  /**
   * Tests only, never on by default: POST /api/v1/test/clock moves the clock
   * and runs a scheduler tick. Without an explicit clock the server then runs
   * on a TestClock starting at the real time.
   */
  testHooks?: boolean;
  /** IANA zone of the sync slots, the GC time and online policies without their own (default: the process's zone). */
  timeZone?: string;
  /** Jobs the scheduler runs at once, server-wide (default 4). */
  maxConcurrentJobs?: number;
  /** How long a scheduled backup waits for its offline agent before it fails (default 10 min). */
  agentOfflineWaitMs?: number;
  /** Further queue settings (retries, backoff); maxConcurrentJobs and agentOfflineWaitMs win. */
  queue?: Partial<QueueOptions>;
  /** Daily garbage collection at this local 'HH:MM' (default '03:00'); null: none scheduled. */
  gcTime?: string | null;
  /**
   * How often a vault read or write is retried while the vault is unreachable
   * (the library's default: 8 attempts from 1 s, doubling, at most 60 s apart).
   * With testHooks the default is 3 attempts 100 ms apart, so that a test sees
   * the upload job fail and the queue's own retry take over.
   */
  vaultRetry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  /** Upload bandwidth to the vaults, by work hours in `timeZone` (`strata server --vault-bandwidth-*`); absent: unlimited. */
  vaultBandwidth?: VaultBandwidth;
  /** Target size of uploaded packs (default the format's 16 MiB); smaller packs lose less to an interrupted upload. */
  vaultPackSize?: number;
  /** The alert monitor's settings (interval, thresholds, notifier); false: no monitor. */
  alerts?: false | Partial<Pick<MonitorOptions, 'intervalMs' | 'thresholds' | 'serverName' | 'notifier'>>;
}

export interface RunningServer {
  url: string;
  agentUrl: string;
  adminToken: string;
  adminTokenFile: string;
  certFingerprint: string | null;
  certFile: string | null;
  jobs: JobService;
  clock: Clock;
  timeZone: string;
  scheduler: Scheduler;
  queue: JobQueue;
  protection: ProtectionService;
  /** The one vault service of this data dir: the API, uploads and retention share it. */
  vaults: VaultService;
  /** Null when started with alerts: false. */
  alerts: AlertMonitor | null;
  /** For tests and in-process tools; the API goes through the same objects. */
  catalog: Catalog;
  store: ChunkStore;
  close(): Promise<void>;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const log = opts.log ?? defaultLog;
  const dataDir = path.resolve(opts.dataDir);
  const timeZone = parseTimeZone(opts.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC');
  const clock = opts.clock ?? (opts.testHooks ? new TestClock() : systemClock);
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const catalog = await openCatalog({ dataDir, databaseUrl: opts.databaseUrl, clock });
  const store = await ChunkStore.open(path.join(dataDir, 'chunks'));
  const { token: adminToken, created } = await loadOrCreateAdminToken(dataDir);
  if (created) log.info({ file: adminTokenPath(dataDir) }, 'created the admin credential');
  const tls = opts.insecure
    ? null
    : await loadOrCreateTls(dataDir, opts.tlsKeyFile && opts.tlsCertFile ? { keyFile: opts.tlsKeyFile, certFile: opts.tlsCertFile } : undefined);

  const gateway = new AgentGateway(catalog, log);
  // One per data dir (two would both append to a vault's known-chunks log).
  const retry = opts.vaultRetry ?? (opts.testHooks ? { attempts: 3, baseDelayMs: 100, maxDelayMs: 100 } : undefined);
  const upload = { ...(retry ? { retry } : {}), ...(opts.vaultBandwidth ? { limitFor: workHoursLimit({ ...opts.vaultBandwidth, timeZone }) } : {}), ...(opts.vaultPackSize ? { packSize: opts.vaultPackSize } : {}) };
  const vaults = sharedVaultService({ catalog, store, dataDir, timeZone, log, clock, ...(retry ? { vaultOptions: { retry } } : {}), upload });
  const jobs = new JobService(catalog, store, gateway, log, clock, vaults);
  await catalog.failInterruptedJobs?.('the server stopped while the job ran');
  const bg = background(opts, { catalog, store, jobs, gateway, clock, log, dataDir, timeZone, vaults });
  const app = createApp({ catalog, store, gateway, jobs, adminToken, tlsFingerprint: tls?.fingerprint ?? null, dataDir, timeZone, protection: bg.hooks, vaults }, log, { testHooks: bg.testHooks });
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert, ciphers: TLS_CIPHERS, honorCipherOrder: true }, app.callback()) : http.createServer(app.callback());
  server.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8443, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as { port: number; address: string };
  const host = addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  const url = `${tls ? 'https' : 'http'}://${host}:${addr.port}`;
  const agentUrl = `${tls ? 'wss' : 'ws'}://${host}:${addr.port}/agent`;
  // Lets the CLI on this machine find the server from the data dir alone.
  await writeFileDurable(serverInfoPath(dataDir), JSON.stringify({ url, agentUrl, pid: process.pid, certFingerprint: tls?.fingerprint ?? null }) + '\n', 0o644);
  let p: Protection;
  try {
    p = await bg.start();
  } catch (e) {
    server.closeAllConnections?.();
    await new Promise<void>((r) => server.close(() => r()));
    await gateway.close();
    await vaults.close();
    await store.close();
    await catalog.close();
    throw e;
  }
  const { alerts } = bg;
  return {
    url, agentUrl, adminToken, adminTokenFile: adminTokenPath(dataDir), jobs, catalog, store,
    clock, timeZone, scheduler: p.scheduler, queue: p.queue, protection: p.protection, vaults, alerts,
    certFingerprint: tls?.fingerprint ?? null, certFile: tls ? path.join(dataDir, 'tls', 'cert.pem') : null,
    async close() {
      await p.stop();
      await jobs.close();
      // Cancelled jobs end promptly; their endings are recorded before the catalog closes.
      await Promise.race([p.queue.idle(), new Promise((r) => setTimeout(r, 5000).unref())]);
      await alerts?.stop();
      await gateway.close();
      server.closeAllConnections?.();
      await new Promise<void>((r) => server.close(() => r()));
      // Waits for a running upload (cancelled above) to let go of the vault.
      await vaults.close();
      await store.close();
      await catalog.close();
    },
  };
}

/**
 * The scheduler and the alert monitor. The API is built before they start (it
 * calls them), and they start once the port is open: the first tick runs the
 * slots missed while the server was down, and agents must be able to connect.
 */
function background(
  opts: ServerOptions,
  d: { catalog: Catalog; store: ChunkStore; jobs: JobService; gateway: AgentGateway; clock: Clock; log: Logger; dataDir: string; timeZone: string; vaults: VaultService },
) {
  let protection: Protection | undefined;
  const alerts = opts.alerts === false ? null : new AlertMonitor({ catalog: d.catalog, clock: d.clock, isAgentOnline: (id) => d.gateway.isOnline(id), dataDir: d.dataDir, log: d.log, ...opts.alerts });
  const testClock = d.clock instanceof TestClock ? d.clock : null;
  return {
    alerts,
    hooks: {
      policyChanged: async (id: string) => protection?.protection.policyChanged(id),
      groupChanged: async (id: string) => protection?.protection.groupChanged(id),
    },
    testHooks: opts.testHooks && testClock ? {
      clock: testClock,
      // What real time would have done: the scheduler's tick, and the alert monitor's check.
      tick: async () => {
        const report = await protection!.scheduler.tick();
        await alerts?.checkNow();
        return report;
      },
    } : undefined,
    async start(): Promise<Protection> {
      protection = await startProtection({
        ...d,
        queue: {
          ...opts.queue,
          ...(opts.maxConcurrentJobs !== undefined ? { maxConcurrent: opts.maxConcurrentJobs } : {}),
          ...(opts.agentOfflineWaitMs !== undefined ? { offlineWaitMs: opts.agentOfflineWaitMs } : {}),
        },
        scheduler: { timeZone: d.timeZone, realTimers: !testClock, ...(opts.gcTime !== undefined ? { gcTime: opts.gcTime } : {}) },
      });
      alerts?.start();
      // A job's end may raise (job failed) or resolve (missed SLA) an alert: check at once.
      if (alerts) d.jobs.onEnded(() => void alerts.checkNow().catch(() => {}));
      return protection;
    },
  };
}
