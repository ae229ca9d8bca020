import type Router from '@koa/router';
import { invalid } from '../../errors.js';
import { garbageCollect, verifyPoints } from '../../services/maintenance.js';
import { body, type ApiContext } from '../context.js';

export function storeRoutes(r: Router, ctx: ApiContext) {
  r.get('/store', async (c) => {
    c.body = await ctx.store.stats();
  });
  r.post('/gc', async (c) => {
    const rewriteBelow = body(c).rewriteBelow;
    if (rewriteBelow !== undefined && !(typeof rewriteBelow === 'number' && rewriteBelow >= 0 && rewriteBelow <= 1)) throw invalid('rewriteBelow must be a number from 0 to 1');
    c.status = 202;
    c.body = await ctx.jobs.startServerJob('gc', { rewriteBelow: rewriteBelow ?? null }, async (_progress, signal) => ({
      result: { ...(await garbageCollect(ctx.catalog, ctx.store, (t) => ctx.jobs.waitForBackupsStartedBefore(t), rewriteBelow as number | undefined, signal)) },
    }));
  });
  r.post('/verify', async (c) => {
    const b = body(c);
    if (b.point !== undefined && typeof b.point !== 'string') throw invalid('point must be a recovery point id');
    const pointId = b.point as string | undefined;
    c.status = 202;
    c.body = await ctx.jobs.startServerJob('verify', { pointId: pointId ?? null }, async (progress, signal) => {
      const r = await verifyPoints(ctx.catalog, ctx.store, pointId, progress, signal);
      return r.damaged.length
        ? { state: 'failed', result: r as never, errorMessage: `${r.damaged.length} damaged chunk(s), e.g. ${r.damaged[0]!.hash}: ${r.damaged[0]!.reason}` }
        : { result: r as never };
    });
  });
}
