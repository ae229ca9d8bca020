/**
 * Cross-region restore on purpose, through the CLI and REST: an in-process
 * server (real TLS, SQLite catalog), a real `strata-agent` process and the
 * real `strata` CLI. A GRS vault over two local folders holds a point that
 * is also on disk (location 'both'); with the primary folder renamed away,
 * `strata restore --vault-target secondary` restores it byte-identically
 * (the chunks cannot have come from the primary, nor from the disk: the job
 * says `source: vault:secondary`), and `--vault-target primary` fails
 * clearly. The vault restore holds a read on the vault while it runs and
 * releases it exactly once, on success, failure and cancel (the agent
 * paused with SIGSTOP, so the cancel surely comes first). Bad vault
 * targets, a point only on disk and 'secondary' on an LRS vault are refused
 * before anything starts. On the same server, `strata vault verify` checks both
 * targets and, after a byte flipped in one primary pack, exits 1 naming it
 * with the secondary clean and a vault-damaged alert raised.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import tmp from 'tmp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../../server/src/cli/client.js';
import { startServer, type RunningServer } from '../../../server/src/server.js';
import { enrollAndRun, ok, okJson, strataCli, type Daemon, type ServerProc } from '../../helpers/cli.js';
import { compareTrees } from '../../helpers/tree.js';

const PASS = 'correct horse battery staple 42';

interface Job { id: string; state: string; params: Record<string, unknown>; result: Record<string, any>; errorMessage: string | null }

let work: tmp.DirResult;
let srv: RunningServer;
let agent: Daemon & { name: string };
let env: Record<string, string>;
let src = '';
let primary = '';
let secondary = '';
let vaultId = '';
let both = '';
const cli = (args: string[], more: Record<string, string> = {}) => strataCli(args, { ...env, ...more });

/** Every acquireRead of the vault service and every release() call, counted (the real service underneath). */
const holds = { acquired: 0, released: 0, heldWhileRunning: 0 };

beforeAll(async () => {
  work = tmp.dirSync({ unsafeCleanup: true, prefix: 'strata-xregion-' });
  src = path.join(work.name, 'src');
  primary = path.join(work.name, 'region-a');
  secondary = path.join(work.name, 'region-b');
  fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
  for (let i = 0; i < 12; i++) fs.writeFileSync(path.join(src, 'sub', `f${i}.txt`), `file ${i}\n`.repeat(300 + i));
  fs.writeFileSync(path.join(src, 'random.bin'), crypto.randomBytes(2 << 20));
  srv = await startServer({ dataDir: path.join(work.name, 'server'), port: 0, log: pino({ level: 'silent' }), alerts: false,
    // A dead target fails a job in well under a second, not after the library's minutes of retries.
    vaultRetry: { attempts: 2, baseDelayMs: 20, maxDelayMs: 20 } });
  env = { STRATA_DATA: path.join(work.name, 'server'), STRATA_URL: srv.url };
  agent = await enrollAndRun({ url: srv.url, env } as ServerProc, path.join(work.name, 'agent'));

  const real = srv.vaults.acquireRead.bind(srv.vaults);
  srv.vaults.acquireRead = async (ref: string) => {
    const h = await real(ref);
    holds.acquired++;
    return { release: () => { holds.released++; h.release(); } };
  };
}, 120_000);

afterAll(async () => {
  await agent?.stop();
  await srv?.close();
  work?.removeCallback();
});

describe('cross-region restore (GRS vault over two local folders)', () => {
  it('backs up a source and uploads the point to a GRS vault: the point is on disk and in the vault', async () => {
    const secFile = path.join(work.name, 'secondary.json');
    fs.writeFileSync(secFile, JSON.stringify({ kind: 'local', path: secondary }), { mode: 0o600 });
    const v = await okJson(cli(['vault', 'create', 'grs', '--kind', 'local', '--path', primary, '--secondary-file', secFile, '--json'], { STRATA_VAULT_PASSPHRASE: PASS }));
    expect(v).toMatchObject({ name: 'grs', redundancy: 'GRS', secondary: { kind: 'local' } });
    vaultId = v.id;
    const source = (await okJson<{ id: string }>(cli(['sources', 'add', agent.name, src, '--name', 'docs', '--json']))).id;
    const b = await okJson<{ job: Job }>(cli(['backup', source, '--wait', '--json']));
    both = b.job.result.pointId;
    const up = await okJson<{ job: Job }>(cli(['vault', 'upload', 'grs', both, '--wait', '--json']));
    expect(up.job.state).toBe('succeeded');
    expect((await okJson(cli(['points', 'list', source, '--json']))).find((p: { id: string }) => p.id === both)).toMatchObject({ location: 'both', vaultId });
    expect(fs.readdirSync(path.join(secondary, 'objects', 'packs')).length).toBeGreaterThan(0);
  });

  it('refuses a bad vault target, and a point only on disk, before any job starts (exit 2)', async () => {
    const bad = await cli(['restore', both, '--to', path.join(work.name, 'nowhere'), '--vault-target', 'tertiary', '--wait']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/vaultTarget must be auto, primary or secondary \(got "tertiary"\)/);
    const api = ApiClient.fromOptions({ data: env.STRATA_DATA });
    await expect(api.post('/restores', { point: both, target: '/tmp/x', vaultTarget: 7 })).rejects.toMatchObject({ kind: 'invalid', message: expect.stringMatching(/vaultTarget must be auto, primary or secondary \(got 7\)/) });

    fs.writeFileSync(path.join(src, 'later.txt'), 'a later file\n');
    const source = (await srv.catalog.getRecoveryPoint(both))!.dataSourceId;
    const diskOnly = (await okJson<{ job: Job }>(cli(['backup', source, '--wait', '--json']))).job.result.pointId;
    const r = await cli(['restore', diskOnly, '--to', path.join(work.name, 'nowhere'), '--vault-target', 'auto', '--wait']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`recovery point ${diskOnly} is not in a vault`));
    expect(await srv.catalog.listJobs({ type: 'restore' })).toEqual([]);
    expect(holds.acquired).toBe(0);
  });

  it('with the primary folder renamed away, --vault-target secondary restores byte-identically from the secondary and holds a read meanwhile', async () => {
    fs.renameSync(primary, `${primary}.away`);
    const to = path.join(work.name, 'restored-secondary');
    let max = 0;
    const sampler = setInterval(() => (max = Math.max(max, srv.vaults.activeReaders(vaultId))), 2);
    const r = await okJson<{ job: Job }>(cli(['restore', both, '--to', to, '--vault-target', 'secondary', '--wait', '--json']));
    clearInterval(sampler);
    expect(r.job.state).toBe('succeeded');
    expect(r.job.params).toMatchObject({ pointId: both, vaultTarget: 'secondary' });
    expect(r.job.result).toMatchObject({ source: 'vault:secondary' });
    expect(await compareTrees(src, path.join(to, src), { root: false, ignore: (rel) => rel.toString() === 'later.txt' })).toEqual([]);
    expect(max).toBe(1);
    expect(holds).toMatchObject({ acquired: 1, released: 1 });
    expect(srv.vaults.activeReaders(vaultId)).toBe(0);
  });

  it('--vault-target primary then fails clearly, and the read is released', async () => {
    const r = await cli(['restore', both, '--to', path.join(work.name, 'restored-primary'), '--vault-target', 'primary', '--wait']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/job \S+ failed: .*its folder .* is missing/);
    const [job] = await srv.catalog.listJobs({ type: 'restore', state: 'failed' });
    expect(job).toMatchObject({ params: { vaultTarget: 'primary' } });
    expect(job!.errorMessage).toContain(primary);
    expect(holds).toMatchObject({ acquired: 2, released: 2 });
    expect(srv.vaults.activeReaders(vaultId)).toBe(0);
    fs.renameSync(`${primary}.away`, primary);
  });

  it('without a vault target a point on disk restores from the disk (source: disk), taking no read hold', async () => {
    const to = path.join(work.name, 'restored-disk');
    const r = await okJson<{ job: Job }>(cli(['restore', both, '--to', to, '--wait', '--json']));
    expect(r.job.result).toMatchObject({ source: 'disk' });
    expect(r.job.params).toMatchObject({ vaultTarget: null });
    expect(await compareTrees(src, path.join(to, src), { root: false, ignore: (rel) => rel.toString() === 'later.txt' })).toEqual([]);
    expect(holds.acquired).toBe(2);
  });

  it('a vault restore holds its read while it runs, and a cancel releases it', async () => {
    // The agent paused: the job waits on it, so the hold can be seen and the cancel comes first, surely.
    agent.proc.kill('SIGSTOP');
    try {
      const started = await okJson<{ job: Job }>(cli(['restore', both, '--to', path.join(work.name, 'restored-cancelled'), '--vault-target', 'auto', '--json']));
      expect(started.job).toMatchObject({ state: 'running', params: { vaultTarget: 'auto' } });
      expect(srv.vaults.activeReaders(vaultId)).toBe(1);
      expect(holds).toMatchObject({ acquired: 3, released: 2 });
      await ok(cli(['jobs', 'cancel', started.job.id]));
      const end = (await srv.jobs.whenEnded(started.job.id)).job!;
      expect(end.state).toBe('cancelled');
      expect(holds).toMatchObject({ acquired: 3, released: 3 });
      expect(srv.vaults.activeReaders(vaultId)).toBe(0);
    } finally {
      agent.proc.kill('SIGCONT');
    }
  });

  it("'secondary' on a vault without a secondary target is refused (exit 2)", async () => {
    await okJson(cli(['vault', 'create', 'lrs', '--kind', 'local', '--path', path.join(work.name, 'lrs'), '--json'], { STRATA_VAULT_PASSPHRASE: PASS }));
    const diskOnly = (await srv.catalog.listRecoveryPoints({})).find((p) => p.location === 'disk')!;
    await okJson(cli(['vault', 'upload', 'lrs', diskOnly.id, '--wait', '--json']));
    const r = await cli(['restore', diskOnly.id, '--to', path.join(work.name, 'nowhere'), '--vault-target', 'secondary', '--wait']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/vault 'lrs' has no secondary target \(redundancy LRS\)/);
    // primary works on it, from the vault
    const to = path.join(work.name, 'restored-lrs');
    const ok1 = await okJson<{ job: Job }>(cli(['restore', diskOnly.id, '--to', to, '--vault-target', 'primary', '--wait', '--json']));
    expect(ok1.job.result).toMatchObject({ source: 'vault:primary' });
    expect(await compareTrees(src, path.join(to, src))).toEqual([]);
  });
});

describe('strata vault verify (the same server, through the CLI and REST)', () => {
  it('a clean GRS vault verifies succeeded per target; a flipped byte in one primary pack exits 1 naming it, the secondary clean, an alert raised', async () => {
    const clean = await okJson<{ job: Job }>(cli(['vault', 'verify', 'grs', '--wait', '--json']));
    expect(clean.job).toMatchObject({ type: 'verify', state: 'succeeded', params: { vault: 'grs', readData: true }, result: { vault: 'grs', damaged: [], points: 1 } });
    expect(Object.keys(clean.job.result.targets).sort()).toEqual(['primary', 'secondary']);
    expect(clean.job.result.targets.secondary).toMatchObject({ damagedObjects: 0, packs: clean.job.result.packs });

    const quick = await okJson<{ job: Job }>(cli(['vault', 'verify', 'grs', '--quick', '--wait', '--json']));
    expect(quick.job).toMatchObject({ state: 'succeeded', params: { readData: false } });
    expect((await cli(['vault', 'verify', 'grs', '--quick', '--read-data'])).code).toBe(2);
    expect((await cli(['vault', 'verify', 'no-such-vault', '--wait'])).code).toBe(4);
    await expect(ApiClient.fromOptions({ data: env.STRATA_DATA }).post('/vaults/grs/verify', { readData: 'yes' }))
      .rejects.toMatchObject({ kind: 'invalid', message: 'readData must be true or false (got "yes")' });

    const packsDir = path.join(primary, 'objects', 'packs');
    const fan = fs.readdirSync(packsDir).sort()[0]!;
    const name = fs.readdirSync(path.join(packsDir, fan)).sort()[0]!;
    const file = path.join(packsDir, fan, name);
    const data = fs.readFileSync(file);
    data[50] ^= 0x80;
    fs.writeFileSync(file, data);
    const damaged = await cli(['vault', 'verify', 'grs', '--wait']);
    expect(damaged.code).toBe(1);
    expect(damaged.stderr).toMatch(/job \S+ failed: vault 'grs': \d+ damaged objects? \(\d+ on the primary\)/);
    expect(damaged.stdout).toMatch(new RegExp(`damaged  packs/${fan}/${name} chunk [0-9a-f]{64}: `));
    expect(damaged.stdout).toMatch(/^secondary .*: \d+ packs, \d+ chunks, 1 points, no damage$/m);
    const alerts = await okJson<Array<{ key: string; kind: string }>>(cli(['alerts', 'list', '--json']));
    expect(alerts).toContainEqual(expect.objectContaining({ key: `vault-damaged:${vaultId}`, kind: 'vault-damaged' }));
    expect(srv.vaults.activeReaders(vaultId)).toBe(0);
  });
});
