/**
 * Bad input against the real binaries, each followed by proof that earlier
 * recovery points still restore: wrong credentials, an unreachable server, a
 * relative restore target, a garbage agent connection, a damaged pack (verify
 * names it), and prune + gc keeping what is still referenced.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import tmp from 'tmp';
import { WebSocket } from 'ws';
import { enrollAndRun, ok, okJson, startServerProc, strataCli, type Daemon, type ServerProc } from '../helpers/cli.js';
import { buildTree, changeTree } from '../helpers/fixture.js';
import { compareTrees } from '../helpers/tree.js';

const MiB = 1024 * 1024;
let work: tmp.DirResult;
let server: ServerProc;
let agent: Daemon & { name: string };
let src: string;
let snap1: string;
let p1 = '';
let p2 = '';
const cli = (args: string[], env: Record<string, string | undefined> = {}) => strataCli(args, { ...server.env, ...env });

async function restoresExactly(point: string, expected: string) {
  const to = fs.mkdtempSync(path.join(work.name, 'r-'));
  await okJson(cli(['restore', point, '--to', to, '--wait', '--json']));
  expect(await compareTrees(expected, path.join(to, src))).toEqual([]);
  fs.rmSync(to, { recursive: true, force: true });
}

beforeAll(async () => {
  work = tmp.dirSync({ unsafeCleanup: true, prefix: 'strata-bad-' });
  src = path.join(work.name, 'src');
  buildTree(src, { largeFiles: 3, largeSize: 4 * MiB, smallFiles: 50 });
  server = await startServerProc(path.join(work.name, 'server'));
  agent = await enrollAndRun(server, path.join(work.name, 'agent'));
  const s = await okJson<{ id: string }>(cli(['sources', 'add', agent.name, src, '--json']));
  p1 = (await okJson(cli(['backup', s.id, '--wait', '--json']))).point.id;
  snap1 = path.join(work.name, 'snap1');
  execFileSync('cp', ['-a', src, snap1]);
  changeTree(src, 0.05);
  p2 = (await okJson(cli(['backup', s.id, '--wait', '--json']))).point.id;
});

afterAll(async () => {
  await agent?.stop();
  await server?.stop();
  work?.removeCallback();
});

describe('bad input through the CLI and the gateway', () => {
  it('a wrong admin credential is refused with exit code 3', async () => {
    const r = await strataCli(['points', 'list'], { STRATA_URL: server.url, STRATA_TOKEN: 'sta_wrong', STRATA_DATA: undefined, STRATA_CA: path.join(server.dataDir, 'tls/cert.pem') });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/wrong admin credential/);
    await restoresExactly(p1, snap1);
  });

  it('an unreachable server is reported with exit code 5', async () => {
    const r = await strataCli(['agents', 'list'], { STRATA_URL: 'https://127.0.0.1:1', STRATA_TOKEN: 'x', STRATA_DATA: undefined });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/cannot reach the Strata server at https:\/\/127\.0\.0\.1:1/);
  });

  it('a relative restore target is refused before anything is written', async () => {
    const r = await cli(['restore', p1, '--to', 'relative/dir', '--wait']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/must be an absolute path/);
    expect(fs.existsSync(path.join(process.cwd(), 'relative'))).toBe(false);
  });

  it('an unknown point and an unknown data source are 404s (exit 4)', async () => {
    expect((await cli(['restore', 'no-such-point', '--to', '/tmp/x'])).code).toBe(4);
    expect((await cli(['backup', 'no-such-source'])).code).toBe(4);
  });

  it('a garbage agent connection is closed and the real agent keeps working', async () => {
    const ws = new WebSocket(server.url.replace('https', 'wss') + '/agent', { rejectUnauthorized: false });
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    ws.on('open', () => ws.send(Buffer.from('definitely not protobuf')));
    expect(await closed).toBe(1008);
    await restoresExactly(p2, src);
  });

  it('prune and gc free what only the pruned point used, and the other point still restores', async () => {
    const before = await storeStats();
    await ok(cli(['prune', p1]));
    const points = await okJson<Array<{ id: string }>>(cli(['points', 'list', '--json']));
    expect(points.map((p) => p.id)).toEqual([p2]);
    const gc = await okJson<{ job: { state: string; result: { chunksRemoved: number } } }>(cli(['gc', '--rewrite-below', '1', '--json']));
    expect(gc.job.state).toBe('succeeded');
    expect(gc.job.result.chunksRemoved).toBeGreaterThan(0);
    const after = await storeStats();
    expect(after.chunks).toBe(before.chunks - gc.job.result.chunksRemoved);
    const v = await okJson<{ job: { state: string; result: { damaged: unknown[]; chunksChecked: number } } }>(cli(['verify', p2, '--json']));
    expect(v.job.state).toBe('succeeded');
    expect(v.job.result.damaged).toEqual([]);
    await restoresExactly(p2, src);
  });

  it('a damaged pack is found by verify, named, and the restore fails with a clear error', async () => {
    const packs = execFileSync('find', [path.join(server.dataDir, 'chunks/packs'), '-name', '*.pack']).toString().trim().split('\n');
    const biggest = packs.map((p) => ({ p, s: fs.statSync(p).size })).sort((a, b) => b.s - a.s)[0]!.p;
    const fd = fs.openSync(biggest, 'r+');
    const at = Math.floor(fs.statSync(biggest).size / 2);
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, at);
    b[0] ^= 0xff;
    fs.writeSync(fd, b, 0, 1, at);
    fs.closeSync(fd);
    const v = await cli(['verify', '--json']);
    expect(v.code).toBe(1);
    expect(v.stdout + v.stderr).toMatch(/damaged chunk/);
    const to = path.join(work.name, 'r-damaged');
    const r = await cli(['restore', p2, '--to', to, '--wait']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/corrupt|damaged|does not match/i);
  });
});

describe('a revoked agent', () => {
  it('is disconnected, cannot reconnect, and its daemon stops with a clear error (exit 3)', async () => {
    const exited = new Promise<number | null>((r) => agent.proc.once('exit', (code) => r(code)));
    await ok(cli(['agents', 'revoke', agent.name]));
    expect(await exited).toBe(3);
    expect(agent.output()).toMatch(/revoked/);
    const list = await okJson<Array<{ name: string; online: boolean; revokedAt: string | null }>>(cli(['agents', 'list', '--json']));
    expect(list.find((a) => a.name === agent.name)).toMatchObject({ online: false, revokedAt: expect.any(String) });
    expect((await cli(['backup', (await okJson<Array<{ id: string }>>(cli(['sources', 'list', '--json'])))[0]!.id])).code).toBe(5);
  });
});

const storeStats = () => okJson<{ bytesOnDisk: number; chunks: number }>(cli(['store', '--json']));
