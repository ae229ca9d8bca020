/**
 * A scheduler end-to-end set-up shared by the protection and vault tests:
 * `strata server --test-hooks --time-zone UTC` with its test clock set, one
 * enrolled `strata-agent` running, and a data source `docs` of 20 small
 * files; plus the wait for a number of ended jobs of one type.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ApiClient } from '../../server/src/cli/client.js';
import { enrollAndRun, okJson, startServerProc, strataCli, type Daemon, type ServerProc, waitUntil } from './cli.js';

export interface ClockedSetup { src: string; server: ServerProc; api: ApiClient; agent: Daemon & { name: string }; sourceId: string }

export async function clockedServerWithSource(workDir: string, start: string, o: { database?: string } = {}): Promise<ClockedSetup> {
  const src = path.join(workDir, 'src');
  fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(src, 'sub', `f${i}.txt`), `file ${i}\n`.repeat(500 + i));
  const server = await startServerProc(path.join(workDir, 'server'), { database: o.database, extraArgs: ['--test-hooks', '--time-zone', 'UTC'] });
  const api = ApiClient.fromOptions({ data: server.dataDir });
  const { now } = await api.post<{ now: string }>('/test/clock', { set: start });
  if (now !== start) throw new Error(`the test clock says ${now}, not ${start}`);
  const agent = await enrollAndRun(server, path.join(workDir, 'agent'));
  const sourceId = (await okJson<{ id: string }>(strataCli(['sources', 'add', agent.name, src, '--name', 'docs', '--json'], server.env))).id;
  return { src, server, api, agent, sourceId };
}

/** Waits until `n` jobs of `type` exist and none is queued or running; returns them, newest first. */
export function jobsEnded<J extends { state: string }>(api: ApiClient, server: ServerProc, type: string, n: number): Promise<J[]> {
  return waitUntil(`${n} ended ${type} jobs`, async () => {
    const jobs = await api.get<J[]>(`/jobs?type=${type}&limit=1000`);
    return jobs.length === n && jobs.every((j) => j.state !== 'queued' && j.state !== 'running') ? jobs : undefined;
  }, server);
}
