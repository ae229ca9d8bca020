/** Polls a job until it ends, showing progress on stderr. */
import type { ApiClient } from './client.js';
import { progressLine, type JobView } from './format.js';

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
