/**
 * `strata vault …` against a real server process: create with a passphrase
 * file (never on the command line), list/show without secrets, and the
 * disaster-recovery path: a brand-new server attaches a vault another
 * (lost) server filled, `strata points list` shows its points, and an online
 * point is soft-deleted and undeleted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok, okJson, startServerProc, strataCli, type ServerProc } from '../../helpers/cli.js';
import { backupPoint, localTarget, PASS, server, tempDir } from './helpers.js';

let work: string;
/** Bytes of the files under a folder. */
function duBytes(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n += fs.statSync(path.join(e.parentPath, e.name)).size;
  return n;
}
let srv: ServerProc;
let passFile: string;
const cli = (args: string[], env: Record<string, string> = {}) => strataCli(args, { ...srv.env, ...env });

beforeAll(async () => {
  work = fs.mkdtempSync(path.join((await import('node:os')).tmpdir(), 'strata-vcli-'));
  passFile = path.join(work, 'passphrase');
  fs.writeFileSync(passFile, PASS + '\n', { mode: 0o600 });
  srv = await startServerProc(path.join(work, 'server'));
});

afterAll(async () => {
  await srv?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('strata vault', () => {
  it('create: a passphrase file or STRATA_VAULT_PASSPHRASE; missing or short is exit 2; list and show', async () => {
    const noPass = await cli(['vault', 'create', 'nope', '--kind', 'local', '--path', path.join(work, 'v0')], { STRATA_VAULT_PASSPHRASE: '' });
    expect(noPass.code).toBe(2);
    expect(noPass.stderr).toMatch(/--passphrase-file FILE or STRATA_VAULT_PASSPHRASE/);
    const short = await cli(['vault', 'create', 'nope', '--kind', 'local', '--path', path.join(work, 'v0')], { STRATA_VAULT_PASSPHRASE: 'short' });
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/at least 16 characters/);

    const v = await okJson(cli(['vault', 'create', 'offsite', '--kind', 'local', '--path', path.join(work, 'v1'), '--soft-delete-days', '20', '--passphrase-file', passFile, '--json']));
    expect(v).toMatchObject({ name: 'offsite', kind: 'local', redundancy: 'LRS', softDeleteDays: 20, state: 'ready', defaultPolicy: { name: 'DefaultPolicy' } });
    const secondary = path.join(work, 'secondary.json');
    fs.writeFileSync(secondary, JSON.stringify({ kind: 'local', path: path.join(work, 'v2b') }));
    const text = await ok(cli(['vault', 'create', 'mirrored', '--path', path.join(work, 'v2a'), '--secondary-file', secondary], { STRATA_VAULT_PASSPHRASE: PASS }));
    expect(text).toMatch(/vault mirrored created \(GRS, vault id [0-9a-f]{32}\)/);
    const list = await okJson<{ name: string; redundancy: string }[]>(cli(['vault', 'list', '--json']));
    expect(list.map((x) => [x.name, x.redundancy])).toEqual([['offsite', 'LRS'], ['mirrored', 'GRS']]);
    expect(await ok(cli(['vault', 'list']))).toMatch(/^NAME\s+STATE\s+REDUNDANCY/);
    expect(await ok(cli(['vault', 'show', 'mirrored']))).toMatch(/secondary\s+local .*v2b[\s\S]*soft delete\s+14 days/);
    expect((await cli(['vault', 'show', 'missing'])).code).toBe(4);
    expect(await okJson(cli(['vault', 'update', 'offsite', '--soft-delete-days', '30', '--immutable', '--json']))).toMatchObject({ softDeleteDays: 30, immutable: true });
    expect((await cli(['vault', 'update', 'offsite'])).code).toBe(2);
  });

  it('attach on a brand-new server: wrong passphrase exit 3; points list shows the lost server\'s points; delete-point / undelete-point', async () => {
    // the lost server, in-process: a vault with two uploaded points
    const lost = await server();
    const target = localTarget(tempDir('strata-vcli-target-'));
    await lost.vaults.createVault({ name: 'offsite', target, passphrase: PASS });
    const a = await backupPoint(lost, { n: 8 });
    const b = await backupPoint(lost, { n: 4, shared: a.raws });
    for (const p of [a, b]) await lost.vaults.uploadPoint(p.point.id);
    await lost.close();

    const wrongFile = path.join(work, 'wrong');
    fs.writeFileSync(wrongFile, 'this is not the right passphrase');
    const wrong = await cli(['vault', 'attach', 'dr', '--kind', 'local', '--path', target.path, '--passphrase-file', wrongFile]);
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toMatch(/wrong passphrase for vault/);

    expect(await ok(cli(['vault', 'attach', 'dr', '--kind', 'local', '--path', target.path, '--passphrase-file', passFile])))
      .toMatch(/vault dr attached .*: 2 recovery points recorded, 1 agents and 1 data sources recreated/);
    const points = await okJson<{ id: string; location: string }[]>(cli(['points', 'list', '--json']));
    expect(points.map((p) => p.id).sort()).toEqual([a.point.id, b.point.id].sort());
    expect(points.every((p) => p.location === 'vault')).toBe(true);
    expect((await okJson<unknown[]>(cli(['vault', 'points', 'dr', '--json'])))).toHaveLength(2);

    expect(await ok(cli(['vault', 'delete-point', a.point.id]))).toMatch(/deleted; it can be undeleted until/);
    expect(await okJson<unknown[]>(cli(['vault', 'points', 'dr', '--json']))).toHaveLength(1);
    expect(await okJson<unknown[]>(cli(['vault', 'points', 'dr', '--deleted', '--json']))).toHaveLength(1);
    expect(await ok(cli(['vault', 'undelete-point', a.point.id]))).toMatch(/undeleted/);
    expect(await okJson<unknown[]>(cli(['vault', 'points', 'dr', '--json']))).toHaveLength(2);
    expect((await cli(['vault', 'undelete-point', a.point.id])).code).toBe(2); // not deleted: 409

    // Prune now: with soft delete off a delete purges at once; the prune job reclaims the point's own packs' space.
    await ok(cli(['vault', 'update', 'dr', '--soft-delete-days', '0']));
    expect(await ok(cli(['vault', 'delete-point', b.point.id]))).toMatch(/purged/);
    expect((await cli(['vault', 'prune', 'dr', '--rewrite-below', '2'])).code).toBe(2);
    const sizeBefore = duBytes(target.path);
    const pruned = await okJson<{ job: { type: string; state: string; params: { vault: string }; result: { packsRewritten: number; packsDeleted: number; bytesFreed: number } } }>(
      cli(['vault', 'prune', 'dr', '--rewrite-below', '0.99', '--json']));
    expect(pruned.job).toMatchObject({ type: 'prune', state: 'succeeded', params: { vault: 'dr' } });
    expect(pruned.job.result.packsRewritten + pruned.job.result.packsDeleted).toBeGreaterThan(0);
    expect(pruned.job.result.bytesFreed).toBeGreaterThan(0);
    expect(duBytes(target.path)).toBeLessThan(sizeBefore);
    expect(await ok(cli(['vault', 'prune', 'dr']))).toMatch(/vault dr pruned: 0 points removed/);
    // What remains is whole: a verify that reads every blob finds nothing.
    const v = await okJson<{ job: { state: string } }>(cli(['vault', 'verify', 'dr', '--wait', '--json']));
    expect(v.job.state).toBe('succeeded');
  });
});
