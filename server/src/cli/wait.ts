/** Polls a job until it ends, showing progress on stderr. */
import { StrataError } from '../errors.js';
import type { ApiClient } from './client.js';
import { bytes, duration, progressLine, type JobView } from './format.js';

type Row = Record<string, unknown>;
const out = (s: string) => process.stdout.write(s + '\n');

const FINAL = new Set(['succeeded', 'failed', 'cancelled', 'warning']);

export async function waitForJob(api: ApiClient, jobId: string, opts: { quiet?: boolean; intervalMs?: number } = {}): Promise<JobView & Record<string, unknown>> {
  const tty = process.stderr.isTTY;
  let lastPrint = 0;
  let first = true;
  for (;;) {
    const job = await api.get<JobView & Record<string, unknown>>(`/jobs/${jobId}${first ? '' : `?waitMs=${opts.intervalMs ?? 500}`}`);
    first = false;
    if (FINAL.has(job.state)) {
      if (tty && !opts.quiet) process.stderr.write('\r\x1b[K');
      return job;
    }
    if (!opts.quiet) {
      if (tty) process.stderr.write('\r\x1b[K' + progressLine(job));
      else if (Date.now() - lastPrint > 5000) {
        process.stderr.write(progressLine(job) + '\n');
        lastPrint = Date.now();
      }
    }
  }
}

/**
 * A job just started: print its id (or {job} with --json), or with --wait
 * follow it to its end, print the outcome, and fail on a failed job.
 */
export async function finishJob(
  c: ApiClient, job: Row, o: { wait?: boolean; json?: boolean }, extra?: (j: Row) => Promise<Row>,
  /** The text line for a job whose counters say little (prune of a vault): replaces the generic one. */
  summary?: (j: Row) => string,
) {
  if (!o.wait) {
    if (o.json) out(JSON.stringify({ job }, null, 2));
    else out(String(job.id));
    return;
  }
  const done = await waitForJob(c, String(job.id), { quiet: !!o.json && !process.stderr.isTTY });
  const more = extra && (done.state === 'succeeded' || done.state === 'warning') ? await extra(done) : {};
  const durationMs = (done.result as Row | null)?.durationMs as number | undefined;
  if (o.json) out(JSON.stringify({ job: { ...done, durationMs }, ...more }, null, 2));
  else if (summary && done.state !== 'failed' && done.state !== 'cancelled') out(summary(done));
  else {
    out(`${done.type} ${done.state} in ${duration(durationMs ?? 0)}: scanned ${bytes(Number(done.bytesScanned ?? 0))} in ${done.filesScanned ?? 0} files, sent ${bytes(Number(done.bytesSent ?? 0))}, stored ${bytes(Number(done.bytesStored ?? 0))}`);
    const pid = (more as Row).point as Row | null | undefined;
    if (pid) out(`recovery point ${pid.id}`);
    const from = (done.result as Row | null)?.source;
    if (done.type === 'restore' && typeof from === 'string') out(`chunks read from ${from === 'disk' ? "the server's disk" : from.replace(/^vault:/, 'the vault (') + ')'}`);
    for (const w of (done.warnings as string[] | undefined) ?? []) out(`warning: ${w}`);
  }
  if (done.state === 'failed' || done.state === 'cancelled') {
    throw new StrataError('JOB_' + String(done.state).toUpperCase(), `job ${done.id} ${done.state}: ${done.errorMessage ?? ''}`);
  }
}
