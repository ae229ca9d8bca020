/**
 * The REST API (koa): /api/v1/… with bearer-token auth for the admin. Errors
 * are JSON {error: {code, message}} with the StrataError's HTTP status.
 */
import Koa from 'koa';
import Router from '@koa/router';
import { StrataError, unauthorized } from '../errors.js';
import type { Logger } from '../log.js';
import { tokenMatches } from '../services/admin-credential.js';
import { agentRoutes } from './routes/agents.js';
import { alertRoutes } from './routes/alerts.js';
import { groupRoutes } from './routes/groups.js';
import { policyRoutes } from './routes/policies.js';
import { vaultRoutes } from './routes/vaults.js';
import { jobRoutes } from './routes/jobs.js';
import { pointRoutes } from './routes/points.js';
import { sourceRoutes } from './routes/sources.js';
import { storeRoutes } from './routes/store.js';
import { testHookRoutes, type TestHooks } from './routes/test-hooks.js';
import type { ApiContext } from './context.js';

const MAX_BODY = 1024 * 1024;

/** `testHooks`: only for a server started with them (tests); see routes/test-hooks.ts. */
export function createApp(ctx: ApiContext, log: Logger, opts: { testHooks?: TestHooks } = {}): Koa {
  const app = new Koa();
  app.use(async (c, next) => {
    try {
      await next();
    } catch (e) {
      const err = e instanceof StrataError ? e : null;
      c.status = err?.httpStatus ?? 500;
      c.body = { error: { code: err?.code ?? 'INTERNAL', message: (e as Error).message } };
      if (!err) log.error({ err: e, path: c.path }, 'API error');
    }
  });
  app.use(async (c, next) => {
    if (c.path === '/api/v1/health') {
      c.body = { ok: true };
      return;
    }
    const auth = c.get('authorization');
    const m = /^Bearer (.+)$/.exec(auth);
    if (!m || !tokenMatches(m[1]!, ctx.adminToken)) throw unauthorized('missing or wrong admin credential: pass --token / STRATA_TOKEN, or --data on the server machine');
    await next();
  });
  app.use(async (c, next) => {
    if (c.method === 'POST' || c.method === 'PUT' || c.method === 'PATCH') (c.request as { body?: unknown }).body = await readJson(c.req);
    await next();
  });
  const router = new Router({ prefix: '/api/v1' });
  for (const add of [agentRoutes, sourceRoutes, jobRoutes, pointRoutes, storeRoutes]) add(router, ctx);
  for (const add of [groupRoutes, policyRoutes, vaultRoutes]) add(router, ctx);
  alertRoutes(router, ctx);
  if (opts.testHooks) testHookRoutes(router, opts.testHooks);
  app.use(router.routes()).use(router.allowedMethods());
  return app;
}

async function readJson(req: NodeJS.ReadableStream): Promise<unknown> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const p of req) {
    n += (p as Buffer).length;
    if (n > MAX_BODY) throw new StrataError('BODY_TOO_LARGE', `request body exceeds ${MAX_BODY} bytes`, 'invalid');
    parts.push(p as Buffer);
  }
  if (!n) return {};
  try {
    return JSON.parse(Buffer.concat(parts).toString('utf8'));
  } catch {
    throw new StrataError('INVALID_JSON', 'request body is not valid JSON', 'invalid');
  }
}
