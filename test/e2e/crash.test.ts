/**
 * Crashes in the middle of a backup (SIGKILL, no clean shutdown): of the
 * agent, then of the server. The earlier recovery point must still restore
 * exactly, the interrupted job must end as failed with a reason, and the next
 * backup must succeed.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import tmp from 'tmp';
import { okJson, startAgentProc, startServerProc, strataCli, enrollAndRun, type Daemon, type ServerProc } from '../helpers/cli.js';
import { buildTree, changeTree } from '../helpers/fixture.js';
import { compareTrees } from '../helpers/tree.js';

const MiB = 1024 * 1024;
let work: tmp.DirResult;
let server: ServerProc;
let agent: Daemon;
let src = '';
let snap1 = '';
let p1 = '';
let sourceId = '';
const cli = (args: string[]) => strataCli(args, server.env);

async function waitForRunningJob(): Promise<{ id: string }> {
  for (let i = 0; i < 400; i++) {
    const jobs = await okJson<Array<{ id: string; state: string; bytesSent: number }>>(cli(['jobs', 'list', '--state', 'running', '--json']));
    if (jobs.length) return jobs[0]!;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the backup never showed as running');
}

async function restoresExactly(point: string, expected: string) {
  const to = path.join(work.name, `r-${Math.random().toString(36).slice(2)}`);
  await okJson(cli(['restore', point, '--to', to, '--wait', '--json']));
  expect(await compareTrees(expected, path.join(to, src))).toEqual([]);
}

beforeAll(async () => {
  work = tmp.dirSync({ unsafeCleanup: true, prefix: 'strata-crash-' });
  src = path.join(work.name, 'src');
  buildTree(src, { largeFiles: 6, largeSize: 32 * MiB, smallFiles: 100 });
  server = await startServerProc(path.join(work.name, 'server'));
  const a = await enrollAndRun(server, path.join(work.name, 'agent'));
  agent = a;
  sourceId = (await okJson<{ id: string }>(cli(['sources', 'add', a.name, src, '--json']))).id;
  p1 = (await okJson(cli(['backup', sourceId, '--wait', '--json']))).point.id;
  snap1 = path.join(work.name, 'snap1');
  execFileSync('cp', ['-a', src, snap1]);
  changeTree(src, 0.5);
});

afterAll(async () => {
  await agent?.stop();
  await server?.stop();
  work?.removeCallback();
});

describe('crash during a backup', () => {
  it('agent killed mid-backup: the job fails with a reason, the earlier point restores, the next backup works', async () => {
    await okJson(cli(['backup', sourceId, '--json']));
    const job = await waitForRunningJob();
    agent.proc.kill('SIGKILL');
    let j = { state: 'running', errorMessage: '' };
    for (let i = 0; i < 200 && j.state === 'running'; i++) {
      j = await okJson<{ state: string; errorMessage: string }>(cli(['jobs', 'show', job.id, '--json']));
      if (j.state === 'running') await new Promise((r) => setTimeout(r, 50));
    }
    expect(j.state).toBe('failed');
    expect(j.errorMessage).toMatch(/agent disconnected/);
    agent = await startAgentProc(path.join(work.name, 'agent'));
    await restoresExactly(p1, snap1);
    const b = await okJson(cli(['backup', sourceId, '--wait', '--json']));
    expect(b.job.state).toBe('succeeded');
    await restoresExactly(b.point.id, src);
  });

  it('server killed mid-backup: after restart the job is failed, the earlier points restore, the next backup works', async () => {
    changeTree(src, 0.5, 'second change');
    await okJson(cli(['backup', sourceId, '--json']));
    const job = await waitForRunningJob();
    server.proc.kill('SIGKILL');
    await new Promise((r) => server.proc.once('exit', r));
    // same address: the agent reconnects to what it enrolled with
    server = await startServerProc(server.dataDir, { listen: new URL(server.url).host });
    const j = await okJson<{ state: string; errorMessage: string }>(cli(['jobs', 'show', job.id, '--json']));
    expect(j.state).toBe('failed');
    expect(j.errorMessage).toMatch(/server stopped/);
    // the agent reconnects on its own (backoff ≤ 30 s)
    for (let i = 0; i < 300; i++) {
      const agents = await okJson<Array<{ online: boolean }>>(cli(['agents', 'list', '--json']));
      if (agents[0]?.online) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await restoresExactly(p1, snap1);
    const b = await okJson(cli(['backup', sourceId, '--wait', '--json']));
    expect(b.job.state).toBe('succeeded');
    await restoresExactly(b.point.id, src);
  });
});
