/**
 * `strata groups|policies|vaults` against a real server process with a real
 * agent: the admin's path end to end (`strata vaults` is an alias of
 * `strata vault`). Range errors exit 2 and name the
 * range; a source cannot join two groups; a policy in use cannot be deleted;
 * stop keeps the recovery points, stop --delete-data prunes them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import tmp from 'tmp';
import { enrollAndRun, ok, okJson, startServerProc, strataCli, type Daemon, type ServerProc } from '../helpers/cli.js';

let work: tmp.DirResult;
let server: ServerProc;
let agent: Daemon & { name: string };
let srcA = '';
const cli = (args: string[]) => strataCli(args, server.env);

function writeJson(name: string, v: unknown): string {
  const f = path.join(work.name, name);
  fs.writeFileSync(f, JSON.stringify(v));
  return f;
}

beforeAll(async () => {
  work = tmp.dirSync({ unsafeCleanup: true, prefix: 'strata-prot-cli-' });
  for (const d of ['a', 'b']) {
    fs.mkdirSync(path.join(work.name, d));
    fs.writeFileSync(path.join(work.name, d, 'file.txt'), `contents of ${d}\n`);
  }
  // A test clock that stands still: the 15-minute group below must not start a scheduled
  // backup when the run happens to cross a quarter hour (it did once, making 3 points of 2).
  server = await startServerProc(path.join(work.name, 'server'), { extraArgs: ['--test-hooks'] });
  agent = await enrollAndRun(server, path.join(work.name, 'agent'));
  srcA = (await okJson<{ id: string }>(cli(['sources', 'add', agent.name, path.join(work.name, 'a'), '--name', 'docs-a', '--json']))).id;
  await okJson(cli(['sources', 'add', agent.name, path.join(work.name, 'b'), '--name', 'docs-b', '--json']));
  for (let i = 0; i < 2; i++) await okJson(cli(['backup', srcA, '--wait', '--json']));
});

afterAll(async () => {
  await agent?.stop();
  await server?.stop();
  work?.removeCallback();
});

describe('strata vaults and policies', () => {
  it('vaults create makes DefaultPolicy; list --json', async () => {
    const v = await okJson(strataCli(['vaults', 'create', 'offsite', '--json'], { ...server.env, STRATA_VAULT_PASSPHRASE: 'a long enough vault passphrase' }));
    expect(v).toMatchObject({ name: 'offsite', kind: 'local', config: { path: path.join(server.dataDir, 'vault', 'offsite') }, defaultPolicy: { name: 'DefaultPolicy', created: true } });
    expect((await okJson(cli(['vaults', 'list', '--json']))).map((x: { name: string }) => x.name)).toEqual(['offsite']);
    // The same command group: `vault` lists the same, and `vaults` has vault's subcommands.
    expect(await okJson(cli(['vault', 'list', '--json']))).toEqual(await okJson(cli(['vaults', 'list', '--json'])));
    expect(await ok(cli(['vaults', 'show', 'offsite']))).toMatch(/^redundancy\s+LRS$/m);
    const text = await ok(cli(['policies', 'list']));
    expect(text).toMatch(/^NAME\s+SCHEDULE/);
    expect(text).toMatch(/DefaultPolicy\s+daily 22:00 UTC\s+daily 30/);
  });

  it('policies create from a file; a bad one exits 2 naming the range; show --json', async () => {
    const spec = { schedule: { frequency: 'weekly', weekdays: ['sun'], times: ['22:00'] }, retention: { weekly: { count: 12, weekday: 'sun' } }, timeZone: 'Europe/Stockholm' };
    const bad = await cli(['policies', 'create', 'bad', '--file', writeJson('bad.json', { ...spec, retention: { weekly: { count: 6000, weekday: 'sun' } } })]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/from 1 to 5163 weeks/);
    fs.writeFileSync(path.join(work.name, 'garbage.json'), '{"schedule": ');
    const notJson = await cli(['policies', 'create', 'bad', '--file', path.join(work.name, 'garbage.json')]);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/garbage\.json is not valid JSON/);
    expect((await okJson(cli(['policies', 'create', 'weekly', '--file', writeJson('weekly.json', spec), '--json']))).spec).toEqual(spec);
    const edited = { ...spec, retention: { weekly: { count: 20, weekday: 'sun' } } };
    expect((await okJson(cli(['policies', 'edit', 'weekly', '--file', writeJson('weekly2.json', edited), '--json']))).spec).toEqual(edited);
    expect(await okJson(cli(['policies', 'show', 'weekly', '--json']))).toMatchObject({ name: 'weekly', spec: edited, groups: [] });
  });
});

describe('strata groups', () => {
  it('range checks exit 2 and name the allowed range', async () => {
    const freq = await cli(['groups', 'create', 'g', '--sync-frequency', '20m', '--retention-days', '14']);
    expect(freq.code).toBe(2);
    expect(freq.stderr).toMatch(/sync frequency must be one of 15m, 30m, 45m, 1h, 2h, 4h, 6h, 12h, 24h \(got 20m\)/);
    const days = await cli(['groups', 'create', 'g', '--sync-frequency', '15m', '--retention-days', '500']);
    expect(days.code).toBe(2);
    expect(days.stderr).toMatch(/from 1 to 448 days \(got 500\)/);
    const missing = await cli(['groups', 'create', 'g', '--retention-days', '14']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/needs syncFrequency, one of 15m/);
    expect(await okJson(cli(['groups', 'list', '--json']))).toEqual([]);
  });

  it('create, add-member; a source in two groups is refused; list and show --json', async () => {
    const g = await okJson(cli(['groups', 'create', 'servers', '--sync-frequency', '15m', '--retention-days', '14', '--online-policy', 'weekly', '--json']));
    expect(g).toMatchObject({ name: 'servers', syncFrequencyMinutes: 15, retentionDays: 14, maxPoints: 64, onlinePolicy: 'weekly', state: 'active' });
    await ok(cli(['groups', 'create', 'laptops', '--sync-frequency', '1h', '--retention-days', '7', '--max-points', '100']));
    expect(await ok(cli(['groups', 'add-member', 'servers', 'docs-a']))).toMatch(/docs-a added to servers/);
    const twice = await cli(['groups', 'add-member', 'laptops', 'docs-a']);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/data source 'docs-a' is already in protection group 'servers'/);

    const list = await okJson(cli(['groups', 'list', '--json']));
    // (Both groups were made at the same instant of the test clock: their order is not part of the contract.)
    expect(list.map((x: { name: string; memberCount: number }) => [x.name, x.memberCount]).sort()).toEqual([['laptops', 0], ['servers', 1]]);
    const show = await okJson(cli(['groups', 'show', 'servers', '--json']));
    expect(show.members).toEqual([expect.objectContaining({ id: srcA, name: 'docs-a', agentName: agent.name })]);
    expect(await ok(cli(['groups', 'show', 'servers']))).toMatch(/sync every\s+15m/);
  });

  it('a policy in use cannot be deleted; edit clears it, then it can', async () => {
    const del = await cli(['policies', 'delete', 'weekly']);
    expect(del.code).toBe(2);
    expect(del.stderr).toMatch(/online policy 'weekly' is used by protection group 'servers'/);
    expect(await okJson(cli(['groups', 'edit', 'servers', '--online-policy', 'none', '--retention-days', '30', '--json']))).toMatchObject({ onlinePolicy: null, retentionDays: 30 });
    await ok(cli(['policies', 'delete', 'weekly']));
    expect((await okJson(cli(['policies', 'list', '--json']))).map((p: { name: string }) => p.name)).toEqual(['DefaultPolicy']);
  });

  it('stop keeps the points, resume, stop --delete-data prunes them and says how many', async () => {
    const points = async () => (await okJson<unknown[]>(cli(['points', 'list', srcA, '--json']))).length;
    expect(await points()).toBe(2);
    expect(await okJson(cli(['groups', 'stop', 'servers', '--json']))).toMatchObject({ state: 'stopped', pruned: 0 });
    expect(await points()).toBe(2);
    expect(await okJson(cli(['groups', 'resume', 'servers', '--json']))).toMatchObject({ state: 'active' });
    expect(await ok(cli(['groups', 'stop', 'servers', '--delete-data']))).toMatch(/stopped; 2 recovery points pruned/);
    expect(await points()).toBe(0);
    await ok(cli(['groups', 'remove-member', 'servers', 'docs-a']));
    await ok(cli(['groups', 'delete', 'servers']));
    const missing = await cli(['groups', 'show', 'servers']);
    expect(missing.code).toBe(4);
  });
});
