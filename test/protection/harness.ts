/**
 * The REST API in-process for the protection routes: a real catalog (SQLite
 * or PostgreSQL) and chunk store on tmp dirs, the real koa app on a free
 * port, and a recording stand-in for the scheduler's protection hooks. Agents
 * are not needed: recovery points are recorded straight in the catalog.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pino } from 'pino';
import tmp from 'tmp';
import { createApp } from '../../server/src/api/app.js';
import type { ApiContext } from '../../server/src/api/context.js';
import { openCatalog, type Catalog, type Engine } from '../../server/src/catalog/index.js';
import { ChunkStore } from '../../server/src/chunk-store/index.js';
import { withPgDatabase } from '../helpers/pg.js';

export interface ApiHarness {
  url: string;
  catalog: Catalog;
  store: ChunkStore;
  dataDir: string;
  /** Calls the API received on ctx.protection, in order: ['group', id] / ['policy', id]. */
  hooks: Array<[string, string]>;
  call(method: string, p: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** A data source on a fresh agent, with `points` recovery points recorded. */
  source(name: string, points?: number): Promise<{ id: string; name: string; agentId: string }>;
  close(): Promise<void>;
}

const TOKEN = 'sta_test_token';

export async function apiHarness(engine: Engine, opts: { withHooks?: boolean } = {}): Promise<ApiHarness> {
  const dir = tmp.dirSync({ unsafeCleanup: true, prefix: 'strata-prot-' });
  const dataDir = path.join(dir.name, 'data');
  const pg = engine === 'postgres' ? await withPgDatabase() : null;
  const catalog = await openCatalog(pg ? { databaseUrl: pg.url } : { dataDir });
  const store = await ChunkStore.open(path.join(dataDir, 'chunks'));
  const hooks: Array<[string, string]> = [];
  const ctx: ApiContext = {
    catalog, store, adminToken: TOKEN, tlsFingerprint: null, dataDir,
    // Routes under test use neither the gateway nor the job service.
    gateway: {} as never, jobs: {} as never,
    ...(opts.withHooks === false ? {} : {
      protection: {
        policyChanged: async (id: string) => void hooks.push(['policy', id]),
        groupChanged: async (id: string) => void hooks.push(['group', id]),
      },
    }),
  };
  const server = http.createServer(createApp(ctx, pino({ level: 'silent' })).callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  let n = 0;
  return {
    url, catalog, store, dataDir, hooks,
    async call(method, p, body) {
      const res = await fetch(url + p, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    async source(name, points = 0) {
      const agent = await catalog.createAgent({ hostname: `host-${++n}`, publicKey: 'k' });
      const s = await catalog.createDataSource({ agentId: agent.id, name, paths: [`/${name}`] });
      for (let i = 0; i < points; i++) {
        await catalog.createRecoveryPoint({ agentId: agent.id, dataSourceId: s.id, jobId: crypto.randomUUID(), root: [], files: 1, dirs: 1, bytes: 1, bytesAdded: 1, createdAt: new Date(Date.UTC(2026, 0, 1 + i)) });
      }
      return s;
    },
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      await store.close();
      await catalog.close();
      await pg?.drop();
      dir.removeCallback();
    },
  };
}
