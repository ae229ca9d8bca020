import type Router from '@koa/router';
import { notFound } from '../../errors.js';
import { prunePoint } from '../../services/maintenance.js';
import type { ApiContext } from '../context.js';
import { resolveSource } from './sources.js';
import { vaultServiceOf } from './vaults.js';

export function pointRoutes(r: Router, ctx: ApiContext) {
  r.get('/points', async (c) => {
    const source = c.query.source ? await resolveSource(ctx, String(c.query.source)) : null;
    c.body = await ctx.catalog.listRecoveryPoints(source ? { dataSourceId: source.id } : {});
  });
  r.get('/points/:id', async (c) => {
    const p = await ctx.catalog.getRecoveryPoint(c.params.id!);
    if (!p) throw notFound('recovery point', c.params.id!);
    c.body = p;
  });
  r.delete('/points/:id', async (c) => {
    const id = c.params.id!;
    if (!(await ctx.catalog.getRecoveryPoint(id))) throw notFound('recovery point', id);
    c.status = 202;
    // A point also in a vault loses only its disk copy; a vault-only point's online copy is soft-deleted.
    c.body = await ctx.jobs.startServerJob('prune', { pointId: id }, async () => {
      const r = await prunePoint(ctx.catalog, ctx.store, id, { vaults: ctx.vaults ?? (ctx.dataDir ? vaultServiceOf(ctx) : undefined) });
      return { result: { pointId: r.point.id, action: r.action, message: r.message }, ...(r.action === 'deleted' ? {} : { state: 'warning' as const, warnings: [r.message] }) };
    });
  });
}
