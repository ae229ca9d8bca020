/**
 * Running and measuring processes: wall time, peak RSS (GNU time's %M when
 * /usr/bin/time exists, otherwise by polling VmHWM in /proc/<pid>/status), and
 * long-running daemons whose VmHWM is read between phases.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export const GNU_TIME = '/usr/bin/time';

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  wallS: number;
  /** Peak resident set size of the process in KiB, null when unknown. */
  peakRssKiB: number | null;
}

export class CommandError extends Error {
  constructor(readonly command: string, readonly code: number | null, readonly stderr: string) {
    super(`${command} exited with ${code}: ${firstError(stderr)}`);
  }
}

/** Runs a command to completion; throws CommandError on a non-zero exit. */
export async function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const useTime = existsSync(GNU_TIME);
  const dir = useTime ? await mkdtemp(join(tmpdir(), 'bench-time-')) : '';
  const timeFile = join(dir, 'rss');
  const argv = useTime ? ['-f', '%M', '-o', timeFile, cmd, ...args] : [...args];
  const started = process.hrtime.bigint();
  const child = spawn(useTime ? GNU_TIME : cmd, argv, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  let polled: number | null = null;
  const poll = useTime ? undefined : setInterval(() => (polled = Math.max(polled ?? 0, vmHwmKiB(child.pid) ?? 0)), 20);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c));
  });
  const wallS = Number(process.hrtime.bigint() - started) / 1e9;
  if (poll) clearInterval(poll);
  let peakRssKiB: number | null = polled;
  if (useTime) {
    const last = (await readFile(timeFile, 'utf8').catch(() => '')).trim().split('\n').pop() ?? '';
    peakRssKiB = /^\d+$/.test(last) ? Number(last) : null;
    await rm(dir, { recursive: true, force: true });
  }
  const stdout = Buffer.concat(out).toString('utf8');
  const stderr = Buffer.concat(err).toString('utf8');
  if (code !== 0) throw new CommandError([cmd, ...args].join(' '), code, stderr || stdout);
  return { stdout, stderr, wallS, peakRssKiB };
}

/** VmHWM (peak RSS so far) of a live process in KiB, null if unreadable. */
export function vmHwmKiB(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** CPU seconds (user + system, all threads) a live process has used so far, null if unreadable. */
export function cpuSeconds(pid: number | undefined): number | null {
  const t = cpuTimes(pid);
  return t && t.user + t.system;
}

/** User and system CPU seconds (all threads) and minor page faults of a live process so far, null if unreadable. */
export function cpuTimes(pid: number | undefined): { user: number; system: number; faults: number } | null {
  if (!pid) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat (utime, stime) are the 12th and 13th after the command name, in clock ticks (100 Hz); 10 is minflt.
    return { user: Number(f[11]) / 100, system: Number(f[12]) / 100, faults: Number(f[7]) };
  } catch {
    return null;
  }
}

/** The first line of `text` that looks like an error, else its last line. */
function firstError(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /error/i.test(l)) ?? lines.pop() ?? '';
}

/** Absolute path of `name` on PATH, or null. */
export function which(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return null;
}

export interface Daemon {
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts a long-running process, logging its output to `logFile`, and waits
 * until a line matches `ready` (or the process exits, or `timeoutMs` passes).
 */
export async function startDaemon(cmd: string, args: readonly string[], opts: RunOptions & { logFile: string; ready?: RegExp; timeoutMs?: number }): Promise<Daemon> {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(opts.logFile);
  let seen = '';
  let ready = opts.ready;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    log.end();
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${cmd} ${args.join(' ')}: not ready after ${opts.timeoutMs ?? 60000} ms; see ${opts.logFile}`)), opts.timeoutMs ?? 60000);
    const fail = (e: Error): void => {
      clearTimeout(timer);
      void stop().then(() => reject(e));
    };
    const onData = (b: Buffer): void => {
      log.write(b);
      if (!ready) return;
      seen = (seen + b.toString('utf8')).slice(-4096);
      if (ready.test(seen)) {
        clearTimeout(timer);
        ready = undefined;
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('error', fail);
    child.on('exit', (code) => fail(new Error(`${cmd} ${args.join(' ')} exited early (${code}); see ${opts.logFile}: ${firstError(seen)}`)));
    if (!ready) {
      clearTimeout(timer);
      resolve();
    }
  });
  return { pid: child.pid!, child, stop };
}
