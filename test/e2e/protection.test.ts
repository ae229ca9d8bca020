/**
 * The must-show of issue 3, on the real binaries: `strata server --test-hooks`
 * (embedded SQLite catalog, and again on PostgreSQL; TLS) with a real
 * `strata-agent`. A group with a 15-minute
 * sync frequency and 1 day of retention produces a recovery point on its own
 * at every 15-minute step of the server's test clock (no `strata backup`),
 * a whole day later runs the missed sync once, prunes the points outside the
 * retention range as a recorded 'prune' job, and the point that remains
 * restores exactly. With the agent stopped, the next scheduled backup waits
 * the offline wait, then fails with the reason; a stopped group runs nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import tmp from 'tmp';
import { ApiClient } from '../../server/src/cli/client.js';
import { ok, okJson, strataCli, type Daemon, type ServerProc, waitUntil } from '../helpers/cli.js';
import { clockedServerWithSource, jobsEnded } from '../helpers/clocked.js';
import { createPgDatabase } from '../helpers/pg.js';
import { compareTrees } from '../helpers/tree.js';

const MIN = 60_000;
const START = '2026-06-01T10:00:00.000Z';

interface Job { id: string; type: string; state: string; createdAt: string; params: Record<string, unknown>; result: any; errorMessage: string | null }
interface Point { id: string; createdAt: string; location: string }

const engines: Array<'sqlite' | 'postgres'> = ['sqlite', 'postgres'];

describe.each(engines)('a protection group runs and expires recovery points on its own (%s catalog)', (engine) => {
  let work: tmp.DirResult;
  let server: ServerProc;
  let agent: Daemon & { name: string };
  let api: ApiClient;
  let src = '';
  let sourceId = '';
  let skip = false;
  let dropDb: (() => Promise<void>) | undefined;
  const cli = (args: string[]) => strataCli(args, server.env);

  /** Moves the server's test clock; the server runs a scheduler tick before it answers. */
  const advance = (ms: number) => api.post<{ now: string; queued: Array<{ kind: string; dataSourceId: string }> }>('/test/clock', { advanceMs: ms });

  const until = <T>(what: string, fn: () => Promise<T | undefined>, ms?: number) => waitUntil(what, fn, server, ms);

  const backupsEnded = (n: number) => jobsEnded<Job>(api, server, 'backup', n);

  const points = () => okJson<Point[]>(cli(['points', 'list', sourceId, '--json']));

  beforeAll(async () => {
    let database: string | undefined;
    if (engine === 'postgres') {
      const db = await createPgDatabase();
      if (!db) { skip = true; return; }
      database = db.url;
      dropDb = db.drop;
    }
    work = tmp.dirSync({ unsafeCleanup: true, prefix: `strata-e2e-protection-${engine}-` });
    ({ src, server, api, agent, sourceId } = await clockedServerWithSource(work.name, START, { database }));
  });

  afterAll(async () => {
    await agent?.stop();
    await server?.stop();
    await dropDb?.();
    work?.removeCallback();
  });

  it('joining a 15-minute group runs the first backup at once; every 15-minute step adds one point', async (ctx) => {
    if (skip) return ctx.skip();
    await ok(cli(['groups', 'create', 'fast', '--sync-frequency', '15m', '--retention-days', '1']));
    await ok(cli(['groups', 'add-member', 'fast', sourceId]));
    const first = await backupsEnded(1);
    expect(first[0]).toMatchObject({ state: 'succeeded', createdAt: START, params: { scheduled: true, attempt: 1 } });
    expect((await points()).map((p) => p.createdAt)).toEqual([START]);

    for (let step = 1; step <= 3; step++) {
      fs.writeFileSync(path.join(src, `step${step}.txt`), `changed at step ${step}\n`);
      const tick = await advance(15 * MIN);
      const at = new Date(Date.parse(START) + step * 15 * MIN).toISOString();
      expect(tick.now).toBe(at);
      expect(tick.queued).toEqual([expect.objectContaining({ kind: 'backup', dataSourceId: sourceId })]);
      const jobs = await backupsEnded(step + 1);
      expect(jobs[0]).toMatchObject({ state: 'succeeded', createdAt: at, params: { scheduled: true } });
      const list = await points();
      expect(list).toHaveLength(step + 1);
      expect(list[0]!.createdAt).toBe(at);
    }
    // A tick that finds nothing due queues nothing (the clock moved within the slot).
    expect((await advance(5 * MIN)).queued).toEqual([]);
    expect(await points()).toHaveLength(4);
    expect(await api.get<Job[]>('/jobs?type=prune')).toEqual([]);
  });

  it('a day later the missed sync runs once and retention prunes the points older than a day', async (ctx) => {
    if (skip) return ctx.skip();
    const before = await points();
    fs.writeFileSync(path.join(src, 'next-day.txt'), 'the next day\n');
    const tick = await advance(24 * 60 * MIN);
    // 96 slots passed; one backup runs, not 96.
    expect(tick.queued).toHaveLength(1);
    await backupsEnded(5);
    const prune = await until('the retention prune job', async () => {
      const [j] = await api.get<Job[]>('/jobs?type=prune');
      return j && j.state !== 'running' ? j : undefined;
    });
    expect(prune).toMatchObject({ state: 'succeeded', params: { dataSourceId: sourceId, reason: 'retention' } });
    expect(prune.result.pruned.map((p: { pointId: string }) => p.pointId).sort()).toEqual(before.map((p) => p.id).sort());
    for (const p of prune.result.pruned) expect(p.reasons).toEqual(['outside-1-days']);
    expect(prune.result.kept).toEqual([expect.objectContaining({ tier: 'disk', keep: true, reasons: ['within-1-days'] })]);

    const after = await points();
    expect(after).toHaveLength(1);
    expect(before.map((p) => p.id)).not.toContain(after[0]!.id);
    expect(after[0]!.createdAt).toBe(tick.now);
    const text = await ok(cli(['points', 'list', sourceId]));
    for (const p of before) expect(text).not.toContain(p.id);
  });

  it('the remaining point restores exactly', async (ctx) => {
    if (skip) return ctx.skip();
    const [point] = await points();
    const to = path.join(work.name, 'restored');
    const r = await okJson<{ job: { state: string } }>(cli(['restore', point!.id, '--to', to, '--wait', '--json']));
    expect(r.job.state).toBe('succeeded');
    expect(await compareTrees(src, path.join(to, src))).toEqual([]);
  });

  it('with the agent offline the scheduled backup waits 10 minutes, then fails naming the agent and the work', async (ctx) => {
    if (skip) return ctx.skip();
    await agent.stop();
    await until('the agent to be offline', async () => {
      const agents = await api.get<Array<{ name: string; online: boolean }>>('/agents');
      return agents.find((a) => a.name === agent.name)?.online === false ? true : undefined;
    });
    const tick = await advance(15 * MIN);
    expect(tick.queued).toHaveLength(1);
    const [waiting] = await api.get<Job[]>('/jobs?type=backup&limit=1');
    expect(waiting!.state).toBe('queued');
    expect((await advance(9 * MIN)).queued).toEqual([]);
    expect((await api.get<Job>(`/jobs/${waiting!.id}`)).state).toBe('queued');
    await advance(1 * MIN);
    expect(await api.get<Job>(`/jobs/${waiting!.id}`)).toMatchObject({
      state: 'failed', errorMessage: `agent '${agent.name}' has been offline for 10m; the scheduled backup of 'docs' did not run`,
    });
    expect(await points()).toHaveLength(1);
  });

  it('a stopped group runs nothing', async (ctx) => {
    if (skip) return ctx.skip();
    await ok(cli(['groups', 'stop', 'fast']));
    const tick = await advance(60 * MIN);
    expect(tick.queued).toEqual([]);
    expect(await api.get<Job[]>('/jobs?type=backup&limit=1000')).toHaveLength(6);
    expect(await points()).toHaveLength(1);
  });
});
