/**
 * Strata: a real server and a real agent daemon over loopback (TLS, WebSocket),
 * driven through the admin CLI. "sent" is the job's `bytesSent` (bytes the
 * agent put on the wire); the store is DIR/chunks. Peak RSS of the daemons is
 * VmHWM read from /proc at the end of each phase: it cannot be reset, so it is
 * the maximum since the daemon started.
 *
 * The whole Strata contract the bench relies on lives in this file:
 *   strata server --data DIR --listen 127.0.0.1:PORT     (prints "listening")
 *   STRATA_DATA=DIR STRATA_URL=https://127.0.0.1:PORT strata token create
 *   strata-agent enroll --server wss://… --token T --state AGENTDIR; strata-agent run --state AGENTDIR
 *   strata agents list --json; strata sources add AGENT PATH --json
 *   strata backup SOURCE --wait --json; strata restore POINT --to DIR --wait --json
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, cpuTimes, run, startDaemon, vmHwmKiB, type Daemon } from '../measure.js';
import { dirBytes } from '../tree.js';
import type { PhaseSample, ToolRunner, ToolSession } from './tool.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
// The bench runs the built bundles (`npm run build`, done by run.ts first), as a
// production install would: plain JavaScript, no TypeScript transform at start-up.
const SERVER_MAIN = join(REPO_ROOT, 'server/dist/strata.mjs');
const AGENT_MAIN = join(REPO_ROOT, 'agent/dist/strata-agent.mjs');
/**
 * The environment the daemons' service units set (docs/deployment in README):
 * a libuv pool big enough for overlapping file I/O, and glibc malloc settings
 * that return freed buffer memory instead of fragmenting. Both must be in the
 * environment before Node starts, so they cannot be set from inside.
 */
export const DAEMON_ENV = { UV_THREADPOOL_SIZE: '16', MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_TRIM_THRESHOLD_: '131072' };
/**
 * The agent also keeps V8's young generation small (its garbage is short-lived chunk
 * bookkeeping) and V8's own thread pool at one thread: on two cores its four helper
 * threads marked the heap in parallel with the agent's real work (docs/benchmarks.md, stop 11).
 */
export const AGENT_ENV = { ...DAEMON_ENV, NODE_OPTIONS: '--max-semi-space-size=2 --v8-pool-size=1' };
/** Arguments for `node` to run a built CLI entry point. */
const tsx = (main: string, ...args: string[]): string[] => [main, ...args];
/** Extra `node` options for the two daemons only (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`), for profiling a bench run. */
const DAEMON_NODE_ARGS = (process.env.STRATA_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);

export interface Job { id: string; state: string; bytesSent?: number; bytesStored?: number; filesChanged?: number; durationMs?: number; result?: Record<string, unknown> | null }
interface Agent { id: string; name: string; online: boolean }

/**
 * What the vault phases (vault.ts) need beyond the common session: the CLI with
 * extra environment, the points the backups made (oldest first), and the
 * daemons' CPU and RSS since the previous measurement.
 */
export interface StrataSession extends ToolSession {
  readonly tool: 'strata';
  readonly workDir: string;
  /** Recovery point ids of the backups so far, oldest first. */
  readonly points: readonly string[];
  cli<T>(args: string[], env?: NodeJS.ProcessEnv): Promise<{ out: T; wallS: number }>;
  /** A PhaseSample for a job that just ended (CPU seconds of both daemons since the previous sample, their VmHWM). */
  sample(wallS: number, job: Job): PhaseSample;
  /** CPU seconds the server daemon has used so far. */
  serverCpuS(): number;
}

export const isStrataSession = (s: ToolSession): s is StrataSession => (s as Partial<StrataSession>).tool === 'strata';

export const strata: ToolRunner = {
  name: 'strata',
  settings: 'strata: server + agent daemons (esbuild bundles) over loopback TLS WebSocket, chunk store zstd, unencrypted short-term store',
  sentMeaning: 'job.bytesSent (bytes the agent sent to the server over loopback)',
  async prepare() {
    // Always build from the current sources, so the bench never measures a stale bundle.
    const { buildAll } = await import(join(REPO_ROOT, 'scripts/build.mjs'));
    await buildAll();
    const missing = [SERVER_MAIN, AGENT_MAIN].filter((p) => !existsSync(p));
    if (missing.length) throw new Error(`Strata bundles not found after the build: ${missing.join(', ')}`);
  },
  async open(workDir, source) {
    const dataDir = join(workDir, 'strata-data');
    const agentDir = join(workDir, 'strata-agent');
    await mkdir(dataDir, { recursive: true });
    const port = await freePort();
    const env = { ...process.env, STRATA_DATA: dataDir, STRATA_URL: `https://127.0.0.1:${port}` };
    const opts = { env, cwd: REPO_ROOT };
    const cliEnv = async <T>(args: string[], extra?: NodeJS.ProcessEnv): Promise<{ out: T; wallS: number }> => {
      const r = await run(process.execPath, tsx(SERVER_MAIN, ...args), extra ? { ...opts, env: { ...env, ...extra } } : opts);
      return { out: (args.includes('--json') ? parseJson(r.stdout) : r.stdout.trim()) as T, wallS: r.wallS };
    };
    const cli = <T>(...args: string[]): Promise<{ out: T; wallS: number }> => cliEnv<T>(args);
    const daemons: Daemon[] = [];
    try {
      const server = await startDaemon(process.execPath, [...DAEMON_NODE_ARGS, ...tsx(SERVER_MAIN, 'server', '--data', dataDir, '--listen', `127.0.0.1:${port}`)], { ...opts, env: { ...opts.env, ...DAEMON_ENV }, logFile: join(workDir, 'strata-server.log'), ready: /listening/ });
      daemons.push(server);
      const { out: token } = await cli<string>('token', 'create');
      await run(process.execPath, tsx(AGENT_MAIN, 'enroll', '--server', `wss://127.0.0.1:${port}`, '--token', token, '--state', agentDir), opts);
      const agent = await startDaemon(process.execPath, [...DAEMON_NODE_ARGS, ...tsx(AGENT_MAIN, 'run', '--state', agentDir)], { ...opts, env: { ...opts.env, ...AGENT_ENV }, logFile: join(workDir, 'strata-agent.log') });
      daemons.push(agent);
      const name = await waitOnline(() => cli<Agent[]>('agents', 'list', '--json').then((r) => r.out));
      const { out: src } = await cli<{ id: string }>('sources', 'add', name, source, '--json');
      const points: string[] = [];
      // CPU seconds of each daemon per phase (the difference since the previous phase ended).
      const zero = { user: 0, system: 0, faults: 0 };
      const cpu = { agent: cpuTimes(agent.pid) ?? zero, server: cpuTimes(server.pid) ?? zero };
      // "total (user + system)" seconds since the previous sample: system time is the kernel's share (files,
      // sockets, and page faults: fresh memory costs the kernel a fault per 4 KiB page touched).
      const spent = (a: typeof zero, b: typeof zero): string => {
        const u = b.user - a.user, s = b.system - a.system;
        return `${(u + s).toFixed(2)} s (${u.toFixed(2)} + ${s.toFixed(2)}, ${Math.round((b.faults - a.faults) / 1000)}k faults)`;
      };
      const sample = (wallS: number, job: Job): PhaseSample => {
        for (const d of daemons) if (d.child.exitCode !== null || d.child.signalCode !== null) throw new Error(`strata daemon ${d.pid} died; see logs in ${workDir}`);
        const now = { agent: cpuTimes(agent.pid) ?? zero, server: cpuTimes(server.pid) ?? zero };
        const cpuNote = `CPU (user + system) agent ${spent(cpu.agent, now.agent)}, server ${spent(cpu.server, now.server)}`;
        Object.assign(cpu, now);
        const detail = `job ${job.id} ${job.state}, ${String(job.durationMs)} ms inside the server, stored ${String(job.bytesStored)}, files changed ${String(job.filesChanged)}, ${cpuNote}`;
        return { wallS, sentBytes: job.bytesSent ?? null, rssAgentKiB: vmHwmKiB(agent.pid), rssServerKiB: vmHwmKiB(server.pid), detail };
      };
      const session: StrataSession = {
        tool: 'strata',
        workDir,
        points,
        cli: cliEnv,
        sample,
        serverCpuS: () => cpuSeconds(server.pid) ?? 0,
        async backup() {
          const { out, wallS } = await cli<{ job: Job; point: { id: string } }>('backup', src.id, '--wait', '--json');
          points.push(out.point.id);
          return sample(wallS, out.job);
        },
        async restore(target) {
          const { out, wallS } = await cli<{ job: Job }>('restore', points.at(-1)!, '--to', target, '--wait', '--json');
          return { ...sample(wallS, out.job), sentBytes: null };
        },
        storeBytes: () => dirBytes(join(dataDir, 'chunks')),
        async close() {
          for (const d of daemons.reverse()) await d.stop();
        },
      };
      return session;
    } catch (e) {
      for (const d of daemons.reverse()) await d.stop();
      throw e;
    }
  },
};

/** The JSON document on stdout; if progress lines precede it, the last line. */
function parseJson(stdout: string): unknown {
  try {
    return JSON.parse(stdout);
  } catch {
    const last = stdout.trim().split('\n').pop() ?? '';
    return JSON.parse(last);
  }
}

async function waitOnline(list: () => Promise<Agent[]>, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const online = (await list()).find((a) => a.online);
    if (online) return online.name;
    if (Date.now() > deadline) throw new Error(`strata agent not online after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}
