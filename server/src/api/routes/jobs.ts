import type Router from '@koa/router';
import { invalid, notFound } from '../../errors.js';
import { parseVaultTarget } from '../../jobs/job-service.js';
import { body, type ApiContext } from '../context.js';
import { resolveSource } from './sources.js';

export function jobRoutes(r: Router, ctx: ApiContext) {
  const view = async (id: string) => {
    const job = await ctx.catalog.getJob(id);
    if (!job) throw notFound('job', id);
    const live = ctx.jobs.progress(id);
    return live ? { ...job, ...live, bytesStored: live.bytesStored } : job;
  };
  r.get('/jobs', async (c) => {
    const limit = Math.min(Number(c.query.limit ?? 100) || 100, 1000);
    c.body = await ctx.catalog.listJobs({
      type: c.query.type ? (String(c.query.type) as never) : undefined,
      state: c.query.state ? (String(c.query.state) as never) : undefined,
      limit,
    });
  });
  r.get('/jobs/:id', async (c) => {
    // ?waitMs=N: answer when the job ends or after N ms (at most 10 s), so a waiting CLI hears at once.
    const waitMs = Math.min(Number(c.query.waitMs ?? 0) || 0, 10_000);
    if (waitMs > 0) await ctx.jobs.waitForEnd(c.params.id!, waitMs);
    c.body = await view(c.params.id!);
  });
  r.post('/jobs/:id/cancel', async (c) => {
    await ctx.jobs.cancel(c.params.id!);
    c.body = await view(c.params.id!);
  });
  r.post('/backups', async (c) => {
    const b = body(c);
    if (typeof b.dataSource !== 'string') throw invalid('dataSource is required');
    const source = await resolveSource(ctx, b.dataSource);
    c.status = 202;
    c.body = await ctx.jobs.startBackup(source.id);
  });
  r.post('/restores', async (c) => {
    const b = body(c);
    if (typeof b.point !== 'string') throw invalid('point is required');
    if (b.paths !== undefined && (!Array.isArray(b.paths) || b.paths.some((p) => typeof p !== 'string'))) throw invalid('paths must be a list of strings');
    // vaultTarget: read the vault (that target) even when the point is also on disk; checked before anything starts.
    const vaultTarget = parseVaultTarget(b.vaultTarget);
    c.status = 202;
    c.body = await ctx.jobs.startRestore({
      pointId: b.point, agentId: typeof b.agent === 'string' ? b.agent : undefined,
      target: typeof b.target === 'string' ? b.target : '', paths: b.paths as string[] | undefined, overwrite: b.overwrite === true, vaultTarget,
    });
  });
}
