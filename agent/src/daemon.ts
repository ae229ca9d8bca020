/**
 * `strata-agent run`: stays connected to the server (reconnecting with
 * backoff) and runs the jobs it is told to — backup and restore — reporting
 * progress. A revoked or unknown identity stops the daemon with a clear error.
 */
import { ErrorCode, type BackupCommand, type Frame, type RestoreCommand } from '@strata/protocol';
import { commitCache, runBackup, type BackupCounters } from './backup/index.js';
import { LinkDownlink } from './downlink.js';
import { connectAndHello } from './handshake.js';
import type { Link } from './link.js';
import { PinMismatchError, ServerError } from './link.js';
import type { Logger } from './log.js';
import { runRestore, type RestoreProgress } from './restore/index.js';
import { cacheDir, loadIdentity, saveStatus } from './state.js';
import { LinkUplink } from './uplink.js';
import { PeakWatch, collectNow, guardStats, startMemoryGuard } from './util/memory.js';

const PROGRESS_MS = 500;
/**
 * Switches for measuring (bench A/B runs): STRATA_AGENT_WORKERS=1 turns on the
 * backup's file worker; it is off by default because on the 2-core bench
 * machine it made backups slower (512 MiB, same hour: full 11.2 s with the
 * workers vs 6.4 s without, unchanged
 * re-run 1.5 vs 0.95 s, 1% change 5.4 vs 2.7 s; docs/benchmarks.md).
 * The restore's small-file worker is on unless STRATA_AGENT_RESTORE_WORKER=0:
 * a restore's main thread is busy with the network and the chunk checks, and
 * the worker's synchronous create/write/metadata calls cost less CPU than six
 * thread-pool trips per file (512 MiB restore, same hour: agent 6.0-6.5 s of
 * CPU with it vs 6.1-7.4 s without; main thread 2.8-3.3 vs 3.4-3.7 s; stop 7
 * in docs/benchmarks.md).
 * STRATA_AGENT_MEMORY_GUARD=0 turns the memory guard (util/memory.ts) off.
 * STRATA_AGENT_MEMORY_LOG=1 adds what the memory was made of at each job's
 * RSS peak (V8 heap spaces, external memory, anonymous / shared RSS) to the
 * job's log line (util/memory.ts, PeakWatch).
 */
const WORKERS = process.env.STRATA_AGENT_WORKERS === '1';
const RESTORE_WORKER = process.env.STRATA_AGENT_RESTORE_WORKER !== '0';
const MEMORY_GUARD = process.env.STRATA_AGENT_MEMORY_GUARD !== '0';
const peaks = process.env.STRATA_AGENT_MEMORY_LOG === '1' ? new PeakWatch() : null;
const FATAL = new Set([ErrorCode.AuthFailed, ErrorCode.AgentRevoked, ErrorCode.VersionMismatch]);

export class FatalAgentError extends Error {}

export async function runDaemon(stateDir: string, log: Logger, opts: { signal?: AbortSignal } = {}) {
  const identity = await loadIdentity(stateDir);
  const stopGuard = MEMORY_GUARD ? startMemoryGuard() : () => {};
  opts.signal?.addEventListener('abort', stopGuard, { once: true });
  let backoff = 1000;
  const since = new Date().toISOString();
  const status = (connected: boolean, job: string | null, lastError: string | null) =>
    saveStatus(stateDir, { pid: process.pid, connected, server: identity.serverUrl, since, job, lastError, updatedAt: new Date().toISOString() }).catch(() => {});
  while (!opts.signal?.aborted) {
    let link: Link;
    try {
      ({ link } = await connectAndHello(identity));
    } catch (e) {
      if (e instanceof PinMismatchError || (e instanceof ServerError && FATAL.has(e.code))) {
        await status(false, null, (e as Error).message);
        throw new FatalAgentError((e as Error).message);
      }
      log.warn({ err: (e as Error).message, retryInMs: backoff }, 'cannot connect to the server');
      await status(false, null, (e as Error).message);
      await sleep(backoff, opts.signal);
      backoff = Math.min(backoff * 2, 30_000);
      continue;
    }
    backoff = 1000;
    log.info({ server: identity.serverUrl, agent: identity.agentName }, 'connected');
    await status(true, null, null);
    const jobs = new Map<string, AbortController>();
    const closed = new Promise<string>((r) => link.onClose(r));
    link.onFrame((f: Frame) => {
      switch (f.kind) {
        case 'backup': return void runJob(f.body.jobId, () => backupJob(link, stateDir, f.body, jobs, log));
        case 'restore': return void runJob(f.body.jobId, () => restoreJob(link, f.body, jobs, log));
        case 'cancelJob': return void jobs.get(f.body.jobId)?.abort(new Error('cancelled by the server'));
        case 'ping': return void link.send({ kind: 'pong', body: { timeMs: f.body.timeMs } }).catch(() => {});
        case 'error': log.warn({ code: f.body.code, reason: f.body.message }, 'server reported an error'); return;
        default: return;
      }
    });
    const runJob = async (jobId: string, fn: () => Promise<void>) => {
      await status(true, jobId, null);
      try {
        await fn();
      } catch (e) {
        log.warn({ jobId, err: (e as Error).message }, 'job failed');
        await link.send({ kind: 'jobFailed', body: { jobId, message: (e as Error).message.slice(0, 4000) } }).catch(() => {});
      } finally {
        jobs.delete(jobId);
        // The job's buffers are garbage now; free them before the next job allocates its own.
        if (MEMORY_GUARD) collectNow();
        await status(true, null, null);
      }
    };
    const onAbort = () => link.close('agent stopping');
    opts.signal?.addEventListener('abort', onAbort);
    const why = await closed;
    opts.signal?.removeEventListener('abort', onAbort);
    for (const c of jobs.values()) c.abort(new Error('connection lost'));
    log.warn({ reason: why }, 'disconnected');
    await status(false, null, why);
    if (!opts.signal?.aborted) await sleep(backoff, opts.signal);
  }
}

async function backupJob(link: Link, stateDir: string, cmd: BackupCommand, jobs: Map<string, AbortController>, log: Logger) {
  const ac = new AbortController();
  jobs.set(cmd.jobId, ac);
  const uplink = new LinkUplink(link, cmd.jobId);
  const cache = cacheDir(stateDir, cmd.dataSourceId);
  const progress = throttled<BackupCounters>((c) => {
    void link.send({ kind: 'progress', body: { jobId: cmd.jobId, ...c, bytesSent: uplink.bytesSent, currentPath: c.currentPath.slice(0, 4000) } }).catch(() => {});
  });
  log.info({ jobId: cmd.jobId, paths: cmd.paths }, 'backup started');
  const result = await runBackup({ cmd, cacheDir: cache, uplink, signal: ac.signal, tuning: { fileWorker: WORKERS }, onProgress: progress.report });
  await uplink.drain();
  progress.flush(); // the run's final counters are what the job row keeps
  const done = link.next((f): f is Extract<Frame, { kind: 'backupDone' }> => f.kind === 'backupDone' && f.body.jobId === cmd.jobId, 3600_000);
  const failed = new Promise<never>((_, rej) => link.onFrame((f) => {
    if (f.kind === 'jobFailed' && f.body.jobId === cmd.jobId) rej(new Error(f.body.message));
  }));
  await link.send({ kind: 'backupCommit', body: { jobId: cmd.jobId, root: result.root, files: result.files, dirs: result.dirs, bytes: result.bytes, warnings: result.warnings.slice(0, 1000) } });
  const { body } = await Promise.race([done, failed]);
  await commitCache(cache, body.pointId, result);
  log.info({ jobId: cmd.jobId, pointId: body.pointId, sent: uplink.bytesSent, memoryGuard: { ...guardStats }, memory: peaks?.take() }, 'backup done');
}

async function restoreJob(link: Link, cmd: RestoreCommand, jobs: Map<string, AbortController>, log: Logger) {
  const ac = new AbortController();
  jobs.set(cmd.jobId, ac);
  const downlink = new LinkDownlink(link, cmd.jobId);
  const onFail = link.onFrame((f) => {
    if (f.kind === 'jobFailed' && f.body.jobId === cmd.jobId) {
      const e = new Error(f.body.message);
      downlink.abort(e);
      ac.abort(e);
    }
  });
  const progress = throttled<RestoreProgress>((c) => {
    void link.send({ kind: 'progress', body: { jobId: cmd.jobId, bytesScanned: c.bytesRestored, bytesSent: 0, filesScanned: c.filesRestored, filesChanged: 0, bytesTotal: c.bytesTotal, filesTotal: 0, currentPath: c.currentPath.slice(0, 4000) } }).catch(() => {});
  });
  log.info({ jobId: cmd.jobId, target: cmd.target || '(original location)' }, 'restore started');
  try {
    const r = await runRestore({
      root: cmd.root.map((h) => Buffer.from(h)), target: cmd.target, paths: cmd.paths, overwrite: cmd.overwrite, downlink, signal: ac.signal, tuning: { fileWorker: RESTORE_WORKER },
      onProgress: progress.report,
    });
    progress.flush();
    await link.send({ kind: 'restoreDone', body: { jobId: cmd.jobId, files: r.files, bytes: r.bytes, warnings: r.warnings.slice(0, 1000) } });
    log.info({ jobId: cmd.jobId, files: r.files, memoryGuard: { ...guardStats }, memory: peaks?.take() }, 'restore done');
  } finally {
    onFail();
    downlink.close();
  }
}

/**
 * Progress reports sent at most every PROGRESS_MS; flush() sends the last one
 * held back, so the final counters (filesChanged, bytes) reach the job row even
 * when the run ends moments after the previous report.
 */
function throttled<C>(send: (c: C) => void): { report: (c: C) => void; flush: () => void } {
  let last = 0;
  let held: C | null = null;
  return {
    report: (c) => {
      const now = Date.now();
      if (now - last < PROGRESS_MS) {
        held = c;
        return;
      }
      last = now;
      held = null;
      send(c);
    },
    flush: () => {
      if (held) send(held);
      held = null;
    },
  };
}

const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((r) => {
  const t = setTimeout(r, ms);
  signal?.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true });
});
