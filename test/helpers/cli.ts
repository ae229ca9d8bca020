/**
 * Runs the real binaries — `strata` (server and admin CLI) and `strata-agent` —
 * as child processes, the way an admin would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SERVER_CLI = path.join(repoRoot, 'server/src/cli/main.ts');
const AGENT_CLI = path.join(repoRoot, 'agent/src/cli/main.ts');

export interface RunResult { code: number; stdout: string; stderr: string }

function run(script: string, args: string[], env: Record<string, string | undefined> = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: repoRoot, env: { ...process.env, STRATA_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export const strataCli = (args: string[], env?: Record<string, string | undefined>) => run(SERVER_CLI, args, env);
export const agentCli = (args: string[], env?: Record<string, string | undefined>) => run(AGENT_CLI, args, env);

/** Runs a CLI command that must succeed, and returns its stdout (parsed when --json). */
export async function ok(r: Promise<RunResult>): Promise<string> {
  const res = await r;
  if (res.code !== 0) throw new Error(`command failed (${res.code}): ${res.stderr}\n${res.stdout}`);
  return res.stdout;
}
export const okJson = async <T = any>(r: Promise<RunResult>): Promise<T> => JSON.parse(await ok(r)) as T;

export interface Daemon { proc: ChildProcess; output: () => string; stop(): Promise<void>; pid: number }

function daemon(script: string, args: string[], ready: RegExp | null, env: Record<string, string | undefined> = {}): Promise<Daemon & { match: RegExpMatchArray | null }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: repoRoot, env: { ...process.env, STRATA_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let done = false;
    const d: Daemon = {
      proc, pid: proc.pid!, output: () => out,
      stop: () => new Promise<void>((r) => {
        if (proc.exitCode !== null || proc.signalCode) return r();
        proc.once('exit', () => r());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
      }),
    };
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = ready ? out.match(ready) : null;
      if (!done && m) { done = true; resolve({ ...d, match: m }); }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.on('exit', (code) => { if (!done) { done = true; reject(new Error(`process exited (${code}) before it was ready:\n${out}`)); } });
    if (!ready) { done = true; resolve({ ...d, match: null }); }
    setTimeout(() => { if (!done) { done = true; proc.kill('SIGKILL'); reject(new Error(`not ready in 60 s:\n${out}`)); } }, 60_000).unref();
  });
}

export interface ServerProc extends Daemon { url: string; dataDir: string; env: Record<string, string> }

/** Starts `strata server` on a free port; `env` is what the admin CLI needs to reach it. */
export async function startServerProc(dataDir: string, opts: { database?: string; extraArgs?: string[]; listen?: string } = {}): Promise<ServerProc> {
  const args = ['server', '--data', dataDir, '--listen', opts.listen ?? '127.0.0.1:0', ...(opts.database ? ['--database', opts.database] : []), ...(opts.extraArgs ?? [])];
  const d = await daemon(SERVER_CLI, args, /listening on (\S+)/);
  const url = d.match![1]!;
  return { ...d, url, dataDir, env: { STRATA_DATA: dataDir, STRATA_URL: url } };
}

export const startAgentProc = (stateDir: string) => daemon(AGENT_CLI, ['run', '--state', stateDir], /"msg":"connected"/);

/** Creates a token, enrolls an agent into stateDir and starts its daemon. */
export async function enrollAndRun(server: ServerProc, stateDir: string): Promise<Daemon & { name: string }> {
  const token = (await ok(strataCli(['token', 'create'], server.env))).trim();
  const out = await ok(agentCli(['enroll', '--server', server.url, '--token', token, '--state', stateDir]));
  const name = /agent '([^']+)'/.exec(out)![1]!;
  const d = await startAgentProc(stateDir);
  return { ...d, name };
}

/**
 * Polls `fn` every 200 ms until it returns something other than undefined;
 * on timeout fails naming `what`, with the end of the daemon's output.
 */
export async function waitUntil<T>(what: string, fn: () => Promise<T | undefined>, daemon?: { output(): string }, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${daemon?.output().slice(-3000) ?? ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
