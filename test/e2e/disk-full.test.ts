/**
 * A full server disk: the server's chunk store lives on a small tmpfs (a real
 * file system that really fills up). The backup that does not fit fails with a
 * clear error, the earlier point still restores, and once space is back the
 * next backup succeeds. Needs root (mount); skips on a laptop, fails in CI.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import tmp from 'tmp';
import { enrollAndRun, okJson, startServerProc, strataCli, type Daemon, type ServerProc } from '../helpers/cli.js';
import { buildTree, randomBytesSeeded } from '../helpers/fixture.js';
import { skipOrFail } from '../helpers/servers.js';
import { compareTrees } from '../helpers/tree.js';

const MiB = 1024 * 1024;
let work: tmp.DirResult;
let mounted = '';
let server: ServerProc;
let agent: Daemon & { name: string };
let skip = false;

function tryMount(dir: string): string | null {
  try {
    fs.mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (e) {
    return (e as Error).message.split('\n')[0]!;
  }
}

beforeAll(async () => {
  work = tmp.dirSync({ unsafeCleanup: true, prefix: 'strata-full-' });
  const dataDir = path.join(work.name, 'server');
  const why = tryMount(path.join(dataDir, 'chunks'));
  if (why) {
    skip = skipOrFail('a small tmpfs for the disk-full test', why);
    return;
  }
  mounted = path.join(dataDir, 'chunks');
  server = await startServerProc(dataDir);
  agent = await enrollAndRun(server, path.join(work.name, 'agent'));
});

afterAll(async () => {
  await agent?.stop();
  await server?.stop();
  if (mounted) execFileSync('umount', ['-l', mounted]);
  work?.removeCallback();
});

describe('server disk full', () => {
  it('fails the backup that does not fit, keeps the earlier point, and recovers', async (ctx) => {
    if (skip) return ctx.skip();
    const cli = (args: string[]) => strataCli(args, server.env);
    const src = path.join(work.name, 'src');
    buildTree(src, { largeFiles: 2, largeSize: 4 * MiB, smallFiles: 20 });
    const s = await okJson<{ id: string }>(cli(['sources', 'add', agent.name, src, '--json']));
    const p1 = (await okJson(cli(['backup', s.id, '--wait', '--json']))).point.id as string;
    const snap1 = path.join(work.name, 'snap1');
    execFileSync('cp', ['-a', src, snap1]);

    fs.writeFileSync(path.join(src, 'big', 'too-big.bin'), randomBytesSeeded('too-big', 60 * MiB));
    const r = await cli(['backup', s.id, '--wait', '--json']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/no space left on the disk of chunk store/);
    const jobs = await okJson<Array<{ type: string; state: string; errorMessage: string }>>(cli(['jobs', 'list', '--type', 'backup', '--json']));
    expect(jobs[0]!.state).toBe('failed');
    expect((await okJson<unknown[]>(cli(['points', 'list', '--json']))).length).toBe(1);

    // the earlier point restores exactly; the failed backup left nothing behind that breaks it
    fs.rmSync(path.join(src, 'big', 'too-big.bin'));
    const to = path.join(work.name, 'r1');
    await okJson(cli(['restore', p1, '--to', to, '--wait', '--json']));
    expect(await compareTrees(snap1, path.join(to, src))).toEqual([]);

    // space comes back (the admin grows the volume): gc drops what the failed backup wrote, backups work again
    execFileSync('mount', ['-o', 'remount,size=120m', mounted]);
    const gc = await okJson(cli(['gc', '--rewrite-below', '1', '--json']));
    expect(gc.job.result.chunksRemoved).toBeGreaterThan(0);
    fs.writeFileSync(path.join(src, 'small-change.txt'), 'after the disk was full\n');
    const b = await okJson(cli(['backup', s.id, '--wait', '--json']));
    expect(b.job.state).toBe('succeeded');
  });
});
