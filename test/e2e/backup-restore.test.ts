/**
 * The core promise, on the real binaries: `strata server` (embedded SQLite
 * catalog, and again on PostgreSQL), `strata-agent` daemons and the admin CLI,
 * over TLS on loopback. Full backup, unchanged re-run, ~1% change, restores of
 * every point, and a second agent with the same files.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import tmp from 'tmp';
import { enrollAndRun, okJson, startServerProc, strataCli, type Daemon, type ServerProc } from '../helpers/cli.js';
import { buildTree, changeTree } from '../helpers/fixture.js';
import { createPgDatabase } from '../helpers/pg.js';
import { compareTrees } from '../helpers/tree.js';

const MiB = 1024 * 1024;
const duSize = (dir: string) => Number(execFileSync('du', ['-sb', dir]).toString().split('\t')[0]);

interface BackupOut { job: { id: string; state: string; bytesSent: number; bytesStored: number; filesChanged: number; bytesScanned: number }; point: { id: string; files: number; bytes: number } }

const engines: Array<'sqlite' | 'postgres'> = ['sqlite', 'postgres'];

describe.each(engines)('backup and restore end to end (%s catalog)', (engine) => {
  let work: tmp.DirResult;
  let server: ServerProc;
  let agentA: Daemon & { name: string };
  let dropDb: (() => Promise<void>) | undefined;
  let skip = false;
  let src: string;
  let snap1: string;
  let size = 0;
  const points: string[] = [];
  let sourceId = '';
  const cli = (args: string[]) => strataCli(args, server.env);

  beforeAll(async () => {
    work = tmp.dirSync({ unsafeCleanup: true, prefix: `strata-e2e-${engine}-` });
    let database: string | undefined;
    if (engine === 'postgres') {
      const db = await createPgDatabase();
      if (!db) { skip = true; return; }
      database = db.url;
      dropDb = db.drop;
    }
    src = path.join(work.name, 'src');
    size = buildTree(src, { largeFiles: 6, largeSize: 40 * MiB, smallFiles: 600 });
    server = await startServerProc(path.join(work.name, 'server'), { database });
    agentA = await enrollAndRun(server, path.join(work.name, 'agent-a'));
  });

  afterAll(async () => {
    await agentA?.stop();
    await server?.stop();
    await dropDb?.();
    work?.removeCallback();
  });

  it('full backup of a few hundred MiB restores byte- and metadata-identical', async (ctx) => {
    if (skip) return ctx.skip();
    expect(size).toBeGreaterThan(200 * MiB);
    const source = await okJson<{ id: string }>(cli(['sources', 'add', agentA.name, src, '--name', 'files', '--json']));
    sourceId = source.id;
    const b = await okJson<BackupOut>(cli(['backup', sourceId, '--wait', '--json']));
    expect(b.job.state).toBe('succeeded');
    expect(b.point.bytes).toBe(size);
    // The job row keeps the run's final counters (the agent's last, throttled report is flushed before the commit).
    expect(b.job.bytesScanned).toBe(b.point.bytes);
    // Random data does not compress: nearly everything travels once.
    expect(b.job.bytesSent).toBeGreaterThan(size * 0.9);
    expect(b.job.bytesSent).toBeLessThan(size * 1.05);
    points.push(b.point.id);
    snap1 = path.join(work.name, 'snap1');
    execFileSync('cp', ['-a', src, snap1]);

    const to = path.join(work.name, 'r1');
    const r = await okJson<{ job: { state: string } }>(cli(['restore', b.point.id, '--to', to, '--wait', '--json']));
    expect(r.job.state).toBe('succeeded');
    expect(await compareTrees(src, path.join(to, src))).toEqual([]);
  });

  it('a second backup of the unchanged tree sends no chunk data', async (ctx) => {
    if (skip) return ctx.skip();
    const b = await okJson<BackupOut>(cli(['backup', sourceId, '--wait', '--json']));
    expect(b.job.state).toBe('succeeded');
    expect(b.job.bytesSent).toBe(0);
    expect(b.job.bytesStored).toBe(0);
    expect(b.job.filesChanged).toBe(0);
    points.push(b.point.id);
  });

  it('after a ~1% change the backup sends little more than what changed', async (ctx) => {
    if (skip) return ctx.skip();
    const storeBefore = duSize(path.join(server.dataDir, 'chunks'));
    const changed = changeTree(src, 0.01);
    const b = await okJson<BackupOut>(cli(['backup', sourceId, '--wait', '--json']));
    expect(b.job.state).toBe('succeeded');
    const growth = duSize(path.join(server.dataDir, 'chunks')) - storeBefore;
    console.log(`[${engine}] changed ${changed} B, sent ${b.job.bytesSent} B (${(b.job.bytesSent / changed).toFixed(2)}x), store grew ${growth} B (${(growth / changed).toFixed(2)}x)`);
    expect(b.job.bytesSent).toBeGreaterThan(changed * 0.5);
    expect(b.job.bytesSent).toBeLessThan(changed * 3);
    expect(growth).toBeLessThan(changed * 3);
    points.push(b.point.id);
  });

  it('each of the three points restores exactly', async (ctx) => {
    if (skip) return ctx.skip();
    const expected = [snap1, snap1, src];
    for (let i = 0; i < 3; i++) {
      const to = path.join(work.name, `rp${i}`);
      await okJson(cli(['restore', points[i]!, '--to', to, '--wait', '--json']));
      expect(await compareTrees(expected[i]!, path.join(to, src)), `point ${i + 1}`).toEqual([]);
      fs.rmSync(to, { recursive: true, force: true });
    }
  });

  it('a second agent with the same files adds almost nothing to the store', async (ctx) => {
    if (skip) return ctx.skip();
    const agentB = await enrollAndRun(server, path.join(work.name, 'agent-b'));
    try {
      const copy = path.join(work.name, 'copy-on-b');
      execFileSync('cp', ['-a', src, copy]);
      const before = duSize(path.join(server.dataDir, 'chunks'));
      const s = await okJson<{ id: string }>(cli(['sources', 'add', agentB.name, copy, '--json']));
      const b = await okJson<BackupOut>(cli(['backup', s.id, '--wait', '--json']));
      expect(b.job.state).toBe('succeeded');
      // No dedup oracle: B uploads what it has never backed up, but the server keeps one copy.
      expect(b.job.bytesSent).toBeGreaterThan(size * 0.9);
      const growth = duSize(path.join(server.dataDir, 'chunks')) - before;
      expect(growth).toBeLessThan(size * 0.02);
    } finally {
      await agentB.stop();
    }
  });
});
