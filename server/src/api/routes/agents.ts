import type Router from '@koa/router';
import { invalid, notFound } from '../../errors.js';
import { createEnrollmentToken } from '../../services/enrollment.js';
import { body, type ApiContext } from '../context.js';

export async function resolveAgent(ctx: ApiContext, ref: string) {
  const agent = (await ctx.catalog.getAgent(ref).catch(() => null)) ?? (await ctx.catalog.getAgentByName(ref));
  if (!agent) throw notFound('agent', ref);
  return agent;
}

export function agentRoutes(r: Router, ctx: ApiContext) {
  const view = (a: Awaited<ReturnType<typeof resolveAgent>>) => ({ ...a, online: ctx.gateway.isOnline(a.id), publicKey: undefined });
  r.get('/agents', async (c) => {
    c.body = (await ctx.catalog.listAgents()).map(view);
  });
  r.get('/agents/:id', async (c) => {
    c.body = view(await resolveAgent(ctx, c.params.id!));
  });
  r.post('/agents/:id/revoke', async (c) => {
    const a = await resolveAgent(ctx, c.params.id!);
    await ctx.catalog.revokeAgent(a.id);
    ctx.gateway.session(a.id)?.conn.ws.close(1008, 'agent revoked');
    c.body = view((await ctx.catalog.getAgent(a.id))!);
  });
  r.post('/tokens', async (c) => {
    const ttlHours = Number(body(c).ttlHours ?? 24);
    if (!(ttlHours > 0 && ttlHours <= 24 * 30)) throw invalid('ttlHours must be between 0 and 720');
    c.body = await createEnrollmentToken(ctx.catalog, ctx.tlsFingerprint, ttlHours * 3600_000);
  });
}
