import path from 'node:path';
import type Router from '@koa/router';
import { conflict, invalid, notFound } from '../../errors.js';
import { body, type ApiContext } from '../context.js';
import { resolveAgent } from './agents.js';

const strings = (v: unknown, what: string): string[] => {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x.length > 4096)) throw invalid(`${what} must be a list of strings`);
  return v as string[];
};

export async function resolveSource(ctx: ApiContext, ref: string) {
  const byId = await ctx.catalog.getDataSource(ref).catch(() => null);
  if (byId) return byId;
  const matches = (await ctx.catalog.listDataSources()).filter((s) => s.name === ref);
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw invalid(`more than one data source is named '${ref}': use its id`);
  throw notFound('data source', ref);
}

export function sourceRoutes(r: Router, ctx: ApiContext) {
  r.get('/sources', async (c) => {
    const agent = c.query.agent ? await resolveAgent(ctx, String(c.query.agent)) : null;
    c.body = await ctx.catalog.listDataSources(agent?.id);
  });
  r.get('/sources/:id', async (c) => {
    c.body = await resolveSource(ctx, c.params.id!);
  });
  r.post('/sources', async (c) => {
    const b = body(c);
    if (typeof b.agent !== 'string') throw invalid('agent is required');
    const agent = await resolveAgent(ctx, b.agent);
    const paths = strings(b.paths, 'paths');
    if (!paths.length) throw invalid('at least one path is required');
    for (const p of paths) {
      if (!path.isAbsolute(p) || path.normalize(p) !== p.replace(/(.)\/+$/, '$1') || p.includes('\0')) throw invalid(`path '${p}' must be an absolute, normalized path on the agent`);
    }
    const name = typeof b.name === 'string' && b.name ? b.name : paths.join(',');
    if (await ctx.catalog.getDataSourceByName(agent.id, name)) throw conflict(`agent '${agent.name}' already has a data source named '${name}'`);
    c.status = 201;
    c.body = await ctx.catalog.createDataSource({
      agentId: agent.id, name, kind: 'files', paths: paths.map((p) => (p.length > 1 ? p.replace(/\/+$/, '') : p)),
      includes: strings(b.includes, 'includes'), excludes: strings(b.excludes, 'excludes'),
    });
  });
  r.delete('/sources/:id', async (c) => {
    const s = await resolveSource(ctx, c.params.id!);
    if ((await ctx.catalog.listRecoveryPoints({ dataSourceId: s.id })).length) throw conflict(`data source '${s.name}' still has recovery points: prune them first`);
    await ctx.catalog.deleteDataSource(s.id);
    c.status = 204;
  });
}
