/**
 * job-failed: the newest finished job of one type on one data source failed.
 * Key `job-failed:<dataSourceId>:<type>`, so a source that keeps failing has
 * one alert, not one per try; resolved when a later job of that type on that
 * source succeeds (or ends with warnings: it made its point). Server jobs
 * without a data source (gc, verify of the whole store) get one alert per job,
 * `job-failed:job:<jobId>`, resolved by a later success of the same kind:
 * the type, and for a vault's jobs (verify of a vault) the vault too, so a
 * clean verify of the chunk store never resolves a failed vault verify.
 * Cancelled jobs neither raise nor resolve: an admin chose to stop them.
 * An alert whose data source has been deleted resolves: nothing will retry it.
 */
import type { Job, JobType } from '../../catalog/index.js';
import type { Condition, ConditionContext, Findings } from './types.js';

const sourceKey = (dataSourceId: string, type: string) => `job-failed:${dataSourceId}:${type}`;
const jobKey = (jobId: string) => `job-failed:job:${jobId}`;
const succeeded = (j: Job) => j.state === 'succeeded' || j.state === 'warning';
/** What a later success must match to resolve a server job's alert. */
const serverKind = (j: Job): string => {
  const vault = (j.params as Record<string, unknown> | null)?.vault;
  return typeof vault === 'string' ? `${j.type}:vault:${vault}` : j.type;
};

export const jobFailed: Condition = async (ctx, active) => {
  const jobs = await ctx.catalog.listJobs({
    state: ['succeeded', 'warning', 'failed'], since: new Date(ctx.now.getTime() - ctx.thresholds.jobLookbackMs), limit: 1000,
  });
  const activeKeys = new Set(active.map((a) => a.key));
  const out: Findings = { raise: [], resolve: [] };
  const decided = new Set<string>();
  const newestServerSuccess = new Map<string, number>();
  // Newest first: the first job seen for a source and type decides its state.
  for (const j of jobs) {
    if (j.dataSourceId) {
      const key = sourceKey(j.dataSourceId, j.type);
      if (decided.has(key)) continue;
      decided.add(key);
      if (succeeded(j)) {
        if (activeKeys.has(key)) out.resolve.push(key);
      } else if (!activeKeys.has(key)) out.raise.push(await describe(ctx, j, key));
    } else if (succeeded(j)) {
      if (!newestServerSuccess.has(serverKind(j))) newestServerSuccess.set(serverKind(j), j.createdAt.getTime());
    } else if (!newestServerSuccess.has(serverKind(j)) && !activeKeys.has(jobKey(j.id))) {
      out.raise.push(await describe(ctx, j, jobKey(j.id)));
    }
  }
  for (const a of active) {
    const d = a.details as { jobType?: JobType; jobKind?: string; jobCreatedAt?: string; dataSourceId?: string | null } | null;
    if (d?.dataSourceId && !decided.has(a.key) && !(await ctx.catalog.getDataSource(d.dataSourceId))) out.resolve.push(a.key);
    if (!a.key.startsWith('job-failed:job:') || !d?.jobType || !d.jobCreatedAt) continue;
    const success = newestServerSuccess.get(d.jobKind ?? d.jobType);
    if (success !== undefined && success > Date.parse(d.jobCreatedAt)) out.resolve.push(a.key);
  }
  return out;
};

async function describe(ctx: ConditionContext, j: Job, key: string) {
  const source = j.dataSourceId ? await ctx.catalog.getDataSource(j.dataSourceId) : null;
  const agent = j.agentId ? await ctx.catalog.getAgent(j.agentId) : null;
  const what = source ? `${j.type} of '${source.name}'${agent ? ` on agent '${agent.name}'` : ''}` : `${j.type} job ${j.id}`;
  return {
    key, kind: 'job-failed' as const, severity: 'error' as const,
    subject: `${what[0]!.toUpperCase()}${what.slice(1)} failed`,
    message: `Job ${j.id} (${j.type}) failed at ${(j.finishedAt ?? j.createdAt).toISOString()}: ${j.errorMessage ?? 'no reason recorded'}.` +
      (source ? ` The alert resolves when a later ${j.type} of this data source succeeds.` : ` The alert resolves when a later ${j.type} job succeeds.`),
    details: {
      jobId: j.id, jobType: j.type, jobKind: serverKind(j), jobCreatedAt: j.createdAt.toISOString(), finishedAt: j.finishedAt?.toISOString() ?? null,
      dataSourceId: j.dataSourceId, dataSourceName: source?.name ?? null, agentId: j.agentId, agentName: agent?.name ?? null, error: j.errorMessage,
    },
  };
}
