/**
 * The vault tier's must-show, end to end on the real binaries, once per
 * primary backend — a local folder, Azure Blob (Azurite) and S3 (s3rver) —
 * each with a local-folder secondary target (GRS). A real `strata server`
 * (SQLite catalog, PostgreSQL for the local backend and for every
 * disaster-recovery server), a real `strata-agent`
 * and the admin CLI, in order:
 *
 *   a. a tree with odd names is backed up;
 *   b. a vault is created (secrets from files or the environment), the point
 *      uploaded with `strata vault upload --wait`: location 'both';
 *   c. a second point with 24 MiB of new random data is uploaded by a server
 *      throttled to 2 MiB/s (`--vault-bandwidth-work/-off`, 2 MiB packs), the
 *      server is SIGKILLed once at least one pack is indexed, and the rerun on
 *      a server without the limit sends only what was missing; the killed job
 *      ends failed;
 *   d. the first point's short-term copy is pruned and GC runs: it restores
 *      byte- and metadata-identically from the vault;
 *   e. with the primary down (emulator stopped, folder renamed away) it
 *      restores from the secondary;
 *   f. a cross-region restore on purpose (`--vault-target secondary`);
 *   g. soft delete refuses the restore until undelete;
 *   h. a wrong passphrase on a brand-new server's attach exits 3, adds nothing;
 *   i. disaster recovery: the right passphrase on that new server lists every
 *      point of the lost one, and a newly enrolled agent restores from the vault.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import tmp from 'tmp';
import { ApiClient } from '../../server/src/cli/client.js';
import { startAzurite, type Azurite } from '../helpers/azurite.js';
import { enrollAndRun, ok, okJson, startServerProc, strataCli, type Daemon, type ServerProc, waitUntil } from '../helpers/cli.js';
import { createPgDatabase, type PgDatabase } from '../helpers/pg.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';
import { skipOrFail } from '../helpers/servers.js';
import { compareTrees } from '../helpers/tree.js';

const MiB = 1024 * 1024;
const PASS = 'correct horse battery staple 42';
const NEW_BYTES = 24 * MiB;

type Kind = 'local' | 'azure' | 's3';
interface Job { id: string; type: string; state: string; errorMessage: string | null; bytesSent: number; bytesScanned: number; result: any }
interface Point { id: string; location: string; vaultId: string | null }

/** The tree of step a: spaces, unicode, an empty file, a symlink, a 4 MiB random file. */
function buildOddTree(dir: string) {
  fs.mkdirSync(path.join(dir, 'sub folder', 'deeper'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'with space.txt'), 'a name with a space\n'.repeat(200));
  fs.writeFileSync(path.join(dir, 'ünïcødé – 日本語.txt'), 'unicode name\n'.repeat(300));
  fs.writeFileSync(path.join(dir, 'empty'), '');
  fs.symlinkSync('with space.txt', path.join(dir, 'link to space'));
  fs.writeFileSync(path.join(dir, 'random.bin'), crypto.randomBytes(4 * MiB));
  for (let i = 0; i < 12; i++) fs.writeFileSync(path.join(dir, 'sub folder', 'deeper', `f${i}.txt`), `file ${i}\n`.repeat(400 + i * 37));
  fs.chmodSync(path.join(dir, 'sub folder', 'deeper', 'f3.txt'), 0o600);
}

describe.each<Kind>(['local', 'azure', 's3'])('the vault on a %s primary with a local secondary (GRS)', (kind) => {
  let work: tmp.DirResult;
  let unavailable = '';
  let azurite: Azurite | undefined;
  let s3: S3Server | undefined;
  let pg: PgDatabase | null = null;
  let drPg: PgDatabase | null = null;
  let azuriteDir = '';
  let server: ServerProc;
  let drServer: ServerProc | undefined;
  let agent: Daemon & { name: string };
  let drAgent: (Daemon & { name: string }) | undefined;
  let src = '';
  let expected1 = '';
  let sourceId = '';
  let p1 = '';
  let p2 = '';
  let vaultName = '';
  let listen = '';
  const files: Record<string, string> = {};
  const localPrimary = () => path.join(work.name, 'primary');
  const secondaryDir = () => path.join(work.name, 'secondary');
  const cli = (args: string[], env: Record<string, string> = {}, s: ServerProc = server) => strataCli(args, { ...s.env, ...env });
  const api = (s: ServerProc = server) => ApiClient.fromOptions({ data: s.dataDir });
  const points = async (s: ServerProc = server) => okJson<Point[]>(cli(['points', 'list', '--json'], {}, s));
  // Through the API in-process: a CLI process costs seconds on a loaded 2-core machine (the CLI's points list is used in h and i).
  const pointOf = (id: string) => api().get<Point>(`/points/${id}`);
  const startMain = (extraArgs: string[] = []) => startServerProc(path.join(work.name, 'server'), {
    ...(listen ? { listen } : {}), ...(pg ? { database: pg.url } : {}), extraArgs,
  });

  /** The target flags of `strata vault create|attach`: secrets only in files (mode 0600). */
  const targetArgs = (): string[] => {
    const common = ['--secondary-file', files.secondary!];
    if (kind === 'local') return ['--kind', 'local', '--path', localPrimary(), ...common];
    if (kind === 'azure') return ['--kind', 'azure', '--container', 'strata-e2e', '--connection-string-file', files.azure!, ...common];
    // s3rver needs ListObjects v1 (see docs/vault-backends.md): a whole target file, which the CLI takes too.
    return ['--target-file', files.s3!, ...common];
  };
  const restoreOk = async (point: string, to: string, extra: string[] = [], s: ServerProc = server) => {
    const r = await okJson<{ job: Job }>(cli(['restore', point, '--to', to, '--wait', '--json', ...extra], {}, s));
    expect(r.job.state).toBe('succeeded');
    return r.job;
  };
  /** Every check at once: contents, modes, owners, symlinks, mtimes to the microsecond, the unicode names. */
  const sameAsFirstBackup = async (to: string) => expect(await compareTrees(expected1, path.join(to, src))).toEqual([]);

  const step = (name: string, fn: () => Promise<void>, timeout?: number) => it(name, async (ctx) => {
    if (unavailable) ctx.skip();
    await fn();
  }, timeout);

  beforeAll(async () => {
    work = tmp.dirSync({ unsafeCleanup: true, prefix: `strata-e2e-vault-${kind}-` });
    src = path.join(work.name, 'src');
    expected1 = path.join(work.name, 'expected1');
    vaultName = `offsite-${kind}`;
    const secret = (name: string, text: string) => {
      const f = path.join(work.name, name);
      fs.writeFileSync(f, text, { mode: 0o600 });
      return f;
    };
    files.secondary = secret('secondary.json', JSON.stringify({ kind: 'local', path: secondaryDir() }));
    try {
      if (kind === 'azure') {
        azuriteDir = fs.mkdtempSync(path.join(work.name, 'azurite-'));
        azurite = await startAzurite({ location: azuriteDir });
        files.azure = secret('azure.conn', azurite.connectionString);
      }
      if (kind === 's3') {
        s3 = await startS3Server({ directory: fs.mkdtempSync(path.join(work.name, 's3rver-')) });
        files.s3 = secret('s3.json', JSON.stringify(s3.config));
      }
    } catch (err) {
      skipOrFail(kind === 'azure' ? 'Azurite' : 's3rver', (err as Error).message);
      unavailable = (err as Error).message;
      return;
    }
    // The local backend runs on PostgreSQL throughout; the others on SQLite, with the disaster-recovery server on PostgreSQL.
    drPg = await createPgDatabase();
    if (kind === 'local' && drPg) pg = await createPgDatabase();
    buildOddTree(src);
    server = await startMain();
    listen = new URL(server.url).host; // restarts keep the address: the agent reconnects to what it enrolled with
    agent = await enrollAndRun(server, path.join(work.name, 'agent'));
  });

  afterAll(async () => {
    await drAgent?.stop();
    await drServer?.stop();
    await agent?.stop();
    await server?.stop();
    await azurite?.stop();
    await s3?.stop();
    await pg?.drop();
    await drPg?.drop();
    work?.removeCallback();
  });

  step('a. a tree with odd names is backed up', async () => {
    sourceId = (await okJson<{ id: string }>(cli(['sources', 'add', agent.name, src, '--name', 'odd', '--json']))).id;
    const b = await okJson<{ job: Job; point: { id: string } }>(cli(['backup', sourceId, '--wait', '--json']));
    expect(b.job.state).toBe('succeeded');
    p1 = b.point.id;
    execFileSync('cp', ['-a', src, expected1]);
    expect(await pointOf(p1)).toMatchObject({ location: 'disk' });
  });

  step('b. strata vault create with a secondary, then vault upload: the point is in both places', async () => {
    const v = await okJson(cli(['vault', 'create', vaultName, ...targetArgs(), ...(kind === 'azure' ? ['--create-container'] : []), '--json'], { STRATA_VAULT_PASSPHRASE: PASS }));
    expect(v).toMatchObject({ name: vaultName, kind, state: 'ready', redundancy: 'GRS', secondary: expect.objectContaining({ kind: 'local' }) });
    // The API never shows a secret.
    expect(JSON.stringify(v)).not.toContain(azurite?.accountKey ?? 'no-secret-here');
    const up = await okJson<{ job: Job }>(cli(['vault', 'upload', vaultName, p1, '--wait', '--json']));
    expect(up.job).toMatchObject({ state: 'succeeded', result: { vaultName, alreadyInVault: false } });
    expect(up.job.result.chunksSent).toBeGreaterThan(0);
    expect(up.job.result.bytesSent).toBeGreaterThan(4 * MiB); // the random file does not compress
    expect(await pointOf(p1)).toMatchObject({ location: 'both' });
    // GRS: the secondary holds the point too.
    expect(fs.readdirSync(path.join(secondaryDir(), 'objects')).length).toBeGreaterThan(0);
  });

  step('c. an upload throttled to 2 MiB/s is killed with the server and resumed: only what was missing is sent', async () => {
    fs.writeFileSync(path.join(src, 'new random.bin'), crypto.randomBytes(NEW_BYTES));
    const b = await okJson<{ job: Job; point: { id: string } }>(cli(['backup', sourceId, '--wait', '--json']));
    p2 = b.point.id;
    await server.stop();
    server = await startMain(['--vault-bandwidth-work', '2M', '--vault-bandwidth-off', '2M', '--vault-pack-size', '2M']);
    const started = Date.now();
    const { job } = await okJson<{ job: Job }>(cli(['vault', 'upload', vaultName, p2, '--json']));
    // bytesScanned is the raw size of the packs whose index is in the vault: at least one is complete.
    const atKill = await waitUntil('an upload with one pack indexed and most of it still to send', async () => {
      const j = await api().get<Job>(`/jobs/${job.id}`);
      if (j.state !== 'running') throw new Error(`the upload ended (${j.state}) before it could be interrupted: ${JSON.stringify(j)}`);
      return j.bytesScanned > 0 ? j : undefined;
    }, server, 60_000);
    server.proc.kill('SIGKILL');
    await new Promise((r) => server.proc.once('exit', r));
    // 2 MiB/s held: never more than the rate allows since the upload started, plus the one object a burst may be.
    expect(atKill.bytesSent).toBeLessThanOrEqual(2 * MiB * ((Date.now() - started) / 1000) + 2.5 * MiB);
    expect(atKill.bytesSent).toBeLessThan(NEW_BYTES * 0.85); // well before the end, even if a poll came late on a loaded machine

    server = await startMain();
    const dead = await api().get<Job>(`/jobs/${job.id}`);
    expect(dead.state).toBe('failed');
    expect(dead.errorMessage).toMatch(/the server stopped while the job ran/);
    expect(await pointOf(p2)).toMatchObject({ location: 'disk' });

    const again = await okJson<{ job: Job }>(cli(['vault', 'upload', vaultName, p2, '--wait', '--json']));
    expect(again.job).toMatchObject({ state: 'succeeded', result: { alreadyInVault: false } });
    // A whole upload sends at least the 24 MiB of incompressible new data; the packs indexed before the kill are not sent again.
    expect(again.job.result.bytesSent).toBeGreaterThan(0);
    expect(again.job.result.bytesSent).toBeLessThan(NEW_BYTES - atKill.bytesScanned + MiB);
    expect(again.job.result.bytesSent).toBeLessThan(NEW_BYTES - MiB);
    expect(await pointOf(p2)).toMatchObject({ location: 'both' });
  }, 180_000);

  step('d. the short-term copy of an uploaded point expires: after GC it restores identically from the vault', async () => {
    // A point in the vault loses only its disk copy: a warning that says so.
    const pr = await okJson<{ job: Job }>(cli(['prune', p1, '--json']));
    expect(pr.job).toMatchObject({ state: 'warning', result: { action: 'disk-copy-dropped' } });
    expect(await pointOf(p1)).toMatchObject({ location: 'vault' });
    const gc = await okJson<{ job: Job }>(cli(['gc', '--json']));
    expect(gc.job.state).toBe('succeeded');
    // The agent reconnects on its own after the restarts above.
    await waitUntil('the agent to be online', async () => ((await api().get<Array<{ online: boolean }>>('/agents'))[0]?.online ? true : undefined), server, 60_000);
    const to = path.join(work.name, 'restore-d');
    expect((await restoreOk(p1, to)).result.source).toBe('vault:auto');
    await sameAsFirstBackup(to);
    expect(fs.readlinkSync(path.join(to, src, 'link to space'))).toBe('with space.txt');
  });

  step('e. with the primary unavailable the vault-only point restores from the secondary', async () => {
    const away = `${localPrimary()}.away`;
    if (kind === 'local') fs.renameSync(localPrimary(), away);
    if (kind === 'azure') await azurite!.stop();
    if (kind === 's3') await s3!.stop({ keep: true });
    try {
      const to = path.join(work.name, 'restore-e');
      await restoreOk(p1, to);
      await sameAsFirstBackup(to);
    } finally {
      if (kind === 'local') fs.renameSync(away, localPrimary());
      if (kind === 'azure') azurite = await startAzurite({ location: azuriteDir, port: azurite!.port });
      if (kind === 's3') s3 = await startS3Server({ directory: s3!.directory, port: s3!.port });
    }
  });

  step('f. a cross-region restore on purpose reads the secondary alone', async () => {
    const to = path.join(work.name, 'restore-f');
    expect((await restoreOk(p1, to, ['--vault-target', 'secondary'])).result.source).toBe('vault:secondary');
    await sameAsFirstBackup(to);
  });

  step('g. a soft-deleted online point is listed as deleted and refused until it is undeleted', async () => {
    await ok(cli(['vault', 'delete-point', p1]));
    const deleted = await okJson<Array<{ pointId: string }>>(cli(['vault', 'points', vaultName, '--deleted', '--json']));
    expect(deleted.map((d) => d.pointId)).toEqual([p1]);
    const live = await okJson<Array<{ pointId: string }>>(cli(['vault', 'points', vaultName, '--json']));
    expect(live.map((d) => d.pointId)).toEqual([p2]);
    const refused = await cli(['restore', p1, '--to', path.join(work.name, 'restore-g-refused'), '--wait', '--json']);
    expect(refused.code).toBe(2); // HTTP 409 on the request: no job is started
    expect(refused.stderr).toMatch(/undelete it first/);
    expect(fs.existsSync(path.join(work.name, 'restore-g-refused', src))).toBe(false);
    await ok(cli(['vault', 'undelete-point', p1]));
    const to = path.join(work.name, 'restore-g');
    const one = path.join(src, 'ünïcødé – 日本語.txt');
    await restoreOk(p1, to, ['--path', one]);
    expect(fs.readFileSync(path.join(to, one))).toEqual(fs.readFileSync(path.join(expected1, 'ünïcødé – 日本語.txt')));
    expect(fs.existsSync(path.join(to, src, 'random.bin'))).toBe(false);
  });

  step('h. attach with a wrong passphrase on a brand-new server exits 3 and adds nothing', async () => {
    // The first server is lost: only the vault's targets and the passphrase remain.
    [drServer] = await Promise.all([startServerProc(path.join(work.name, 'dr-server'), drPg ? { database: drPg.url } : {}), agent.stop(), server.stop()]);
    const r = await cli(['vault', 'attach', vaultName, ...targetArgs()], { STRATA_VAULT_PASSPHRASE: 'a wrong but long passphrase' }, drServer);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/passphrase/i);
    expect(await okJson(cli(['vault', 'list', '--json'], {}, drServer))).toEqual([]);
    expect(await points(drServer)).toEqual([]);
  });

  step('i. disaster recovery: attach lists every point of the lost server, and a new agent restores from the vault', async () => {
    const v = await okJson<{ imported: { points: number; failed: unknown[] } }>(cli(['vault', 'attach', vaultName, ...targetArgs(), '--json'], { STRATA_VAULT_PASSPHRASE: PASS }, drServer));
    expect(v.imported).toMatchObject({ points: 2, failed: [] });
    const list = await points(drServer);
    expect(list.map((p) => p.id).sort()).toEqual([p1, p2].sort());
    expect(list.every((p) => p.location === 'vault')).toBe(true);
    // The lost server's agent came back revoked (its key is unknown): a new one is enrolled.
    drAgent = await enrollAndRun(drServer!, path.join(work.name, 'dr-agent'));
    const to = path.join(work.name, 'restore-i');
    await restoreOk(p1, to, ['--agent', drAgent.name], drServer);
    await sameAsFirstBackup(to);
  });
});
