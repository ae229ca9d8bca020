import type { Command } from 'commander';
import { invalid } from '../errors.js';
import { parseBandwidthFlags, parsePackSize } from '../services/vault-bandwidth.js';

export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[?([^\]]*)\]?:)?(\d+)$/.exec(s);
  if (!m) throw new Error(`--listen '${s}' is not HOST:PORT`);
  return { host: m[1] || '127.0.0.1', port: Number(m[2]) };
}

interface BandwidthFlags { vaultBandwidthWork?: string; vaultBandwidthOff?: string; workHours?: string; workDays?: string }
interface SchedulerFlags { timeZone?: string; maxConcurrentJobs?: string; agentOfflineWait?: string; gcTime?: string; testHooks?: boolean }

/** The scheduler's flags as ServerOptions; bad values are refused with the allowed form (exit 2). */
export function parseSchedulerFlags(o: SchedulerFlags) {
  const out: { timeZone?: string; maxConcurrentJobs?: number; agentOfflineWaitMs?: number; gcTime?: string | null; testHooks?: boolean } = {};
  if (o.timeZone !== undefined) out.timeZone = o.timeZone; // checked by startServer (IANA zone)
  if (o.maxConcurrentJobs !== undefined) {
    const n = Number(o.maxConcurrentJobs);
    if (!Number.isInteger(n) || n < 1 || n > 256) throw invalid(`--max-concurrent-jobs must be a whole number from 1 to 256 (got '${o.maxConcurrentJobs}')`);
    out.maxConcurrentJobs = n;
  }
  if (o.agentOfflineWait !== undefined) {
    const m = /^(\d+)(s|m|h)?$/.exec(o.agentOfflineWait);
    if (!m) throw invalid(`--agent-offline-wait must be a duration such as 90s, 10m or 1h (got '${o.agentOfflineWait}')`);
    out.agentOfflineWaitMs = Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'm') as 's' | 'm' | 'h'];
  }
  if (o.gcTime !== undefined) {
    if (o.gcTime === 'off') out.gcTime = null;
    else if (/^([01]\d|2[0-3]):[0-5]\d$/.test(o.gcTime)) out.gcTime = o.gcTime;
    else throw invalid(`--gc-time must be HH:MM (24-hour, server time zone) or 'off' (got '${o.gcTime}')`);
  }
  if (o.testHooks) out.testHooks = true;
  return out;
}

export function serverCommand(program: Command) {
  program
    .command('server')
    .description('run the backup server (REST API and agent gateway on one port)')
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8443')
    .option('--database <url>', 'PostgreSQL catalog (postgres://…); default: embedded SQLite in the data dir')
    .option('--tls-key <file>', 'TLS private key (default: self-signed, made at first start)')
    .option('--tls-cert <file>', 'TLS certificate')
    .option('--insecure-plain', 'serve plain HTTP/ws without TLS (tests only)')
    .option('--time-zone <zone>', 'IANA time zone of sync slots, GC and online policies without their own (default: the system zone)')
    .option('--max-concurrent-jobs <n>', 'scheduled jobs running at once, server-wide', '4')
    .option('--agent-offline-wait <duration>', 'how long a scheduled backup waits for an offline agent before it fails (90s, 10m, 1h)', '10m')
    .option('--gc-time <HH:MM|off>', 'daily garbage collection time', '03:00')
    .option('--vault-bandwidth-work <rate>', 'upload limit to the vault during work hours, bytes/s (512K, 10M, 1G; 0 = unlimited)')
    .option('--vault-bandwidth-off <rate>', 'upload limit to the vault outside work hours (0 = unlimited)')
    .option('--work-hours <HH-HH>', 'work hours for the bandwidth limits, in --time-zone', '08-18')
    .option('--work-days <days>', 'work days for the bandwidth limits (mon-fri, or mon,tue,…)', 'mon-fri')
    .option('--vault-pack-size <size>', 'target size of the packs an upload sends (1M-256M; default 16M)')
    .option('--test-hooks', 'tests only: run on a test clock moved by POST /api/v1/test/clock')
    .action(async (o: { listen: string; database?: string; tlsKey?: string; tlsCert?: string; insecurePlain?: boolean; vaultPackSize?: string } & SchedulerFlags & BandwidthFlags) => {
      const scheduling = parseSchedulerFlags(o);
      const vaultBandwidth = parseBandwidthFlags(o);
      const vaultPackSize = o.vaultPackSize === undefined ? undefined : parsePackSize(o.vaultPackSize);
      // Loaded here, not at the top: the admin commands must start fast and need none of it.
      const [{ startServer }, { log }, { tuneAllocator }, { tuneServerHeap }] = await Promise.all([import('../server.js'), import('../log.js'), import('../util/allocator.js'), import('../util/heap.js')]);
      log.info({ allocator: tuneAllocator(), heap: tuneServerHeap() }, 'memory allocator');
      const g = program.opts<{ data?: string }>();
      const dataDir = g.data ?? process.env.STRATA_DATA ?? './strata-data';
      const { host, port } = parseListen(o.listen);
      const srv = await startServer({
        dataDir, host, port, databaseUrl: o.database ?? process.env.STRATA_DATABASE_URL,
        insecure: !!o.insecurePlain, tlsKeyFile: o.tlsKey, tlsCertFile: o.tlsCert, ...scheduling,
        ...(vaultBandwidth ? { vaultBandwidth } : {}), ...(vaultPackSize ? { vaultPackSize } : {}),
      });
      log.info({ url: srv.url, agents: srv.agentUrl, catalog: o.database ? 'postgresql' : 'sqlite' }, 'Strata server listening');
      if (vaultBandwidth) log.info({ ...vaultBandwidth, timeZone: srv.timeZone }, 'vault upload bandwidth limited (bytes/s; null = unlimited)');
      process.stdout.write(`Strata server listening on ${srv.url} (agents connect to ${srv.agentUrl})\n`);
      process.stdout.write(`Admin credential: ${srv.adminTokenFile}\n`);
      if (srv.certFingerprint) process.stdout.write(`TLS certificate SHA-256: ${srv.certFingerprint}\n`);
      if (scheduling.testHooks) process.stdout.write(`Test hooks on: the clock is a test clock (${srv.clock.now().toISOString()}), moved by POST /api/v1/test/clock\n`);
      const stop = async (sig: string) => {
        log.info({ sig }, 'stopping');
        await srv.close().catch(() => {});
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
    });
}
