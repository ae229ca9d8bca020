/**
 * Issue 4 end to end on the real binaries: `strata server --test-hooks` (SQLite
 * catalog) with a real `strata-agent`. A local-folder vault created with a
 * passphrase; a group with a 15-minute short-term policy (1 day of retention)
 * and an online policy daily at 10:30. Stepping the server's test clock: the
 * points appear on their own, the upload job runs on its own at 10:30 and its
 * point becomes 'both'; a day later short-term retention drops the disk copy
 * and the point stays as 'vault' only, still listed by the vault; GC frees
 * what only that point held, and the point restores byte-identically from
 * the vault (the restore job's chunk source chosen by the point's
 * location). With the vault's folder gone the backups go on,
 * the upload fails as transient with a vault-unreachable alert, and the
 * queue's retry drains it once the folder is back. A policy below the
 * soft-delete minimums and a wrong passphrase on attach are refused.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import tmp from 'tmp';
import { ApiClient } from '../../server/src/cli/client.js';
import { ok, okJson, strataCli, type Daemon, type ServerProc, waitUntil } from '../helpers/cli.js';
import { clockedServerWithSource, jobsEnded } from '../helpers/clocked.js';
import { compareTrees } from '../helpers/tree.js';

const MIN = 60_000;
const START = '2026-06-01T10:00:00.000Z';
const PASS = 'correct horse battery staple 42';

interface Job { id: string; type: string; state: string; createdAt: string; pointId: string | null; params: Record<string, unknown>; result: any; errorMessage: string | null }
interface Point { id: string; createdAt: string; location: string; vaultId: string | null }

describe('a protection group with an online policy uploads to the vault on its own and keeps the online copy after short-term expiry', () => {
  let work: tmp.DirResult;
  let server: ServerProc;
  let agent: Daemon & { name: string };
  let api: ApiClient;
  let src = '';
  let sourceId = '';
  let vaultDir = '';
  let uploaded = '';
  let expected = '';
  let expectedMtime = 0n;
  const cli = (args: string[], env: Record<string, string> = {}) => strataCli(args, { ...server.env, ...env });
  const advance = (ms: number) => api.post<{ now: string; queued: Array<{ kind: string; dataSourceId: string }> }>('/test/clock', { advanceMs: ms });

  const until = <T>(what: string, fn: () => Promise<T | undefined>, ms?: number) => waitUntil(what, fn, server, ms);
  const ended = (type: string, n: number) => jobsEnded<Job>(api, server, type, n);
  const points = () => okJson<Point[]>(cli(['points', 'list', sourceId, '--json']));

  beforeAll(async () => {
    work = tmp.dirSync({ unsafeCleanup: true, prefix: 'strata-e2e-vault-' });
    vaultDir = path.join(work.name, 'offsite');
    expected = path.join(work.name, 'expected-day1');
    ({ src, server, api, agent, sourceId } = await clockedServerWithSource(work.name, START));
  });

  afterAll(async () => {
    await agent?.stop();
    await server?.stop();
    work?.removeCallback();
  });

  it('creates a local-folder vault with a passphrase, an online policy and a group that uses it', async () => {
    const v = await okJson(cli(['vault', 'create', 'offsite', '--kind', 'local', '--path', vaultDir, '--json'], { STRATA_VAULT_PASSPHRASE: PASS }));
    expect(v).toMatchObject({ name: 'offsite', kind: 'local', state: 'ready', softDeleteDays: 14 });
    // With soft delete on, a daily count below 7 is refused (Azure Backup's minimum).
    const spec = (count: number) => ({ schedule: { frequency: 'daily', times: ['10:30'] }, retention: { daily: { count } } });
    await expect(api.post('/policies', { name: 'short', spec: spec(3) })).rejects.toThrow(/7/);
    await api.post('/policies', { name: 'nightly', spec: spec(7) });
    await ok(cli(['groups', 'create', 'fast', '--sync-frequency', '15m', '--retention-days', '1', '--online-policy', 'nightly']));
    await ok(cli(['groups', 'add-member', 'fast', sourceId]));
    await ended('backup', 1);
    expect(await points()).toEqual([expect.objectContaining({ createdAt: START, location: 'disk' })]);
  });

  it('at 10:30 the upload job runs on its own and the newest point becomes both', async () => {
    // Only the points of this first day hold it: its chunks leave the server's disk with them.
    fs.writeFileSync(path.join(src, 'later.bin'), crypto.randomBytes(3 << 20));
    await advance(15 * MIN);
    await ended('backup', 2);
    const tick = await advance(15 * MIN);
    expect(tick.queued.map((q) => q.kind).sort()).toEqual(['backup', 'upload']);
    await ended('backup', 3);
    const [upload] = await ended('upload', 1);
    expect(upload).toMatchObject({ state: 'succeeded', params: { scheduled: true }, result: { vaultName: 'offsite', alreadyInVault: false } });
    expect(upload!.result.chunksSent).toBeGreaterThan(0);
    const list = await points();
    uploaded = upload!.pointId!;
    // The tree as the uploaded point holds it (nothing changed since its backup), for the restore below.
    fs.cpSync(src, expected, { recursive: true });
    expectedMtime = fs.statSync(path.join(src, 'sub', 'f3.txt'), { bigint: true }).mtimeNs;
    expect(list.find((p) => p.id === uploaded)).toMatchObject({ location: 'both' });
    expect(list.filter((p) => p.location === 'both')).toHaveLength(1);
    const online = await okJson<Array<{ pointId: string }>>(cli(['vault', 'points', 'offsite', '--json']));
    expect(online.map((p) => p.pointId)).toEqual([uploaded]);
  });

  it('a day later short-term retention drops the disk copy: the point stays as vault only, the vault still lists it, GC frees its chunks', async () => {
    fs.writeFileSync(path.join(src, 'next-day.txt'), 'the next day\n');
    fs.rmSync(path.join(src, 'later.bin'));
    await advance(24 * 60 * MIN + 15 * MIN);
    await ended('backup', 4);
    await ended('upload', 2);
    const p = await until('the uploaded point to be vault only', async () => {
      const x = (await points()).find((q) => q.id === uploaded);
      return x?.location === 'vault' ? x : undefined;
    });
    expect(p.vaultId).toBeTruthy();
    const disk = (await points()).filter((q) => q.location !== 'vault');
    expect(disk).toHaveLength(1);
    const online = await okJson<Array<{ pointId: string }>>(cli(['vault', 'points', 'offsite', '--json']));
    expect(online.map((q) => q.pointId)).toContain(uploaded);
    const gc = await okJson<{ job: { state: string; result: { chunksRemoved: number } } }>(cli(['gc', '--rewrite-below', '0.99', '--json']));
    expect(gc.job.state).toBe('succeeded');
    // later.bin was only in the expired points: its chunks left the server's disk (the vault keeps them).
    expect(gc.job.result.chunksRemoved).toBeGreaterThan(0);
  });

  it('the vault-only point restores byte-identically, streamed from the vault', async () => {
    const to = path.join(work.name, 'restored');
    const r = await okJson<{ job: { state: string; result: { files: number } } }>(cli(['restore', uploaded, '--to', to, '--wait', '--json']));
    expect(r.job.state).toBe('succeeded');
    // The copy made at upload time has new mtimes: contents, modes and owners compared there, mtimes with the original.
    expect(await compareTrees(expected, path.join(to, src), { mtime: false })).toEqual([]);
    expect(fs.statSync(path.join(to, src, 'sub', 'f3.txt'), { bigint: true }).mtimeNs / 1000n).toBe(expectedMtime / 1000n); // microseconds, as stored
    expect(fs.existsSync(path.join(to, src, 'later.bin'))).toBe(true);
  });

  it('a manual prune of a vault-only point soft-deletes its online copy', async () => {
    const r = await okJson<{ job: { state: string; result: { action: string; message: string } } }>(cli(['prune', uploaded, '--json']));
    expect(r.job.result).toMatchObject({ action: 'online-copy-deleted' });
    const deleted = await okJson<Array<{ pointId: string }>>(cli(['vault', 'points', 'offsite', '--deleted', '--json']));
    expect(deleted.map((q) => q.pointId)).toEqual([uploaded]);
    await ok(cli(['vault', 'undelete-point', uploaded]));
  });

  it('an unreachable vault never stops short-term backups: the upload fails as transient with an alert, and its retry drains once the vault is back', async () => {
    const away = `${vaultDir}.away`;
    fs.renameSync(vaultDir, away);
    // Day 3, 10:30: a backup and an online backup are due.
    const tick = await advance(23 * 60 * MIN + 45 * MIN);
    expect(tick.queued.map((q) => q.kind).sort()).toEqual(['backup', 'upload']);
    const [backup] = await ended('backup', 5);
    expect(backup!.state).toBe('succeeded');
    // The retry's row has the same (test clock) time as the failed attempt: find them by state.
    const { failed, queued } = await until('the upload retry to be queued', async () => {
      const jobs = await api.get<Job[]>('/jobs?type=upload&limit=1000');
      const q = jobs.find((j) => j.state === 'queued');
      const f = jobs.find((j) => j.state === 'failed');
      return jobs.length === 4 && q && f ? { failed: f, queued: q } : undefined;
    });
    expect(failed.errorMessage).toMatch(/cannot reach .*offsite/);
    expect(queued).toMatchObject({ params: { attempt: 2, retryOf: failed.id } });
    const alerts = await api.get<Array<{ kind: string; state: string; subject: string }>>('/alerts');
    expect(alerts).toContainEqual(expect.objectContaining({ kind: 'vault-unreachable', state: 'active', subject: "Vault 'offsite' is unreachable" }));
    fs.renameSync(away, vaultDir);
    await advance(1 * MIN); // the first backoff
    const jobs = await ended('upload', 4);
    expect(jobs.find((j) => j.id === queued.id)).toMatchObject({ state: 'succeeded', pointId: backup!.pointId });
    expect((await points()).find((q) => q.id === backup!.pointId)).toMatchObject({ location: 'both' });
    expect((await api.get<Array<{ kind: string }>>('/alerts')).filter((a) => a.kind === 'vault-unreachable')).toEqual([]);
  });

  it('with soft delete on, a policy change below the minimums is refused', async () => {
    await expect(api.request('PATCH', '/policies/nightly', { spec: { schedule: { frequency: 'daily', times: ['10:30'] }, retention: { daily: { count: 3 } } } })).rejects.toThrow(/7/);
  });

  it('attaching the vault with a wrong passphrase is refused (exit 3), and adds nothing', async () => {
    const r = await cli(['vault', 'attach', 'again', '--kind', 'local', '--path', vaultDir], { STRATA_VAULT_PASSPHRASE: 'a wrong but long passphrase' });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/passphrase/i);
    expect((await okJson<Array<{ name: string }>>(cli(['vault', 'list', '--json']))).map((v) => v.name)).toEqual(['offsite']);
  });
});
