/**
 * The vault verify job (services/vault-verify.ts) in-process: a real
 * catalog, chunk store, vault service and JobService over local vault
 * folders. A clean vault verifies 'succeeded' with its counts; a flipped
 * byte in one pack of a GRS vault's primary fails the job naming that pack
 * on the primary while the secondary's report stays clean (the mirror's
 * fallback does not hide it), raises the vault-damaged alert, which a
 * quick verify does not clear and the next clean full verify resolves; a
 * manifest missing on one target is damage on that target; a primary that
 * cannot be read fails the verify without hiding the secondary's report; a
 * cancelled verify ends 'cancelled'. Every verify holds a read on the vault while it
 * runs and releases it.
 */
import { renameSync } from 'node:fs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AgentGateway } from '../../../server/src/gateway/gateway.js';
import { JobService } from '../../../server/src/jobs/job-service.js';
import { startVaultVerify } from '../../../server/src/services/vault-verify.js';
import { LocalFolderBackend } from '../../../server/src/vault/backends/index.js';
import { backupPoint, localTarget, PASS, server, type ServerUnderTest } from './helpers.js';

const log = pino({ level: 'silent' });

/** A JobService over the test server, and the read holds of its vault service counted. */
function jobsOf(s: ServerUnderTest) {
  const jobs = new JobService(s.catalog, s.store, new AgentGateway(s.catalog, log), log, undefined, s.vaults);
  const holds = { acquired: 0, released: 0 };
  const real = s.vaults.acquireRead.bind(s.vaults);
  s.vaults.acquireRead = async (ref: string) => {
    const h = await real(ref);
    holds.acquired++;
    return { release: () => { holds.released++; h.release(); } };
  };
  const verify = async (vault: string, readData = true) => {
    const job = await startVaultVerify({ jobs, vaults: s.vaults, catalog: s.catalog }, vault, { readData });
    expect(job).toMatchObject({ type: 'verify', state: 'running', params: { vault, readData } });
    return (await jobs.whenEnded(job.id)).job!;
  };
  return { jobs, holds, verify };
}

async function keys(b: LocalFolderBackend, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of b.list(prefix)) out.push(o.key);
  return out.sort();
}

describe('vault verify job', () => {
  it('a clean vault verifies succeeded with its counts, holding a read while it runs', async () => {
    const s = await server();
    const { vault } = await s.vaults.createVault({ name: 'offsite', target: localTarget(), passphrase: PASS });
    let chunks = 0;
    for (let i = 0; i < 3; i++) {
      const { point, raws } = await backupPoint(s, { n: 20 });
      chunks += raws.size;
      await s.vaults.uploadPoint(point.id);
    }
    const { holds, verify } = jobsOf(s);
    const job = await verify('offsite');
    expect(job.state).toBe('succeeded');
    expect(job.errorMessage).toBeNull();
    expect(job.result).toMatchObject({ vault: 'offsite', vaultId: vault.id, readData: true, chunks, points: 3, damaged: [], damagedObjects: 0 });
    expect((job.result as { packs: number }).packs).toBeGreaterThan(1);
    expect(Object.keys((job.result as { targets: object }).targets)).toEqual(['primary']);
    // progress went into the job's counters: chunks checked, packs checked
    expect(job.filesScanned).toBe(chunks);
    expect(job.filesChanged).toBe((job.result as { packs: number }).packs);
    expect(holds).toEqual({ acquired: 1, released: 1 });
    expect(s.vaults.activeReaders(vault.id)).toBe(0);
  });

  it('GRS: a flipped byte in one primary pack fails the verify naming that pack; the secondary is clean; an alert until a clean full verify', async () => {
    const s = await server();
    const primary = localTarget();
    const secondary = localTarget();
    const { vault } = await s.vaults.createVault({ name: 'grs', target: primary, secondary, passphrase: PASS });
    const { point, raws } = await backupPoint(s, { n: 40 });
    await s.vaults.uploadPoint(point.id);
    const { holds, verify } = jobsOf(s);
    expect((await verify('grs')).state).toBe('succeeded');

    const a = await LocalFolderBackend.open({ path: primary.path });
    const b = await LocalFolderBackend.open({ path: secondary.path });
    const packs = await keys(a, 'packs/');
    expect(packs.length).toBeGreaterThan(1);
    const damagedPack = packs[1]!;
    const good = await a.get(damagedPack);
    const bad = Buffer.from(good);
    bad[60] ^= 0x01;
    await a.put(damagedPack, bad);
    // Restores still read it right (the fallback to the secondary), which is why verify reads each target alone.
    const reader = await s.vaults.reader('grs');
    for (const [hex, raw] of raws) expect((await reader.readChunk(Buffer.from(hex, 'hex'))).equals(raw)).toBe(true);
    expect(reader.fallbacks).toBeGreaterThan(0);

    const failed = await verify('grs');
    expect(failed.state).toBe('failed');
    // The pack, and the point whose chunk it holds.
    expect(failed.errorMessage).toMatch(/vault 'grs': 2 damaged objects \(2 on the primary\); first: packs\/\S+ chunk [0-9a-f]{64} on the primary: authentication failed/);
    expect(failed.errorMessage).toContain(damagedPack);
    const r = failed.result as any;
    const inPack = r.damaged.filter((d: { key: string }) => d.key === damagedPack);
    expect(inPack.length).toBeGreaterThan(0);
    for (const d of inPack) expect(d).toMatchObject({ target: 'primary', chunk: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(r.damaged.filter((d: { key: string }) => d.key !== damagedPack)).toEqual([
      { key: `points/${point.id}`, target: 'primary', reason: expect.stringMatching(/^\d+ of its chunks are missing or damaged$/) },
    ]);
    expect(r.targets.primary).toMatchObject({ damagedObjects: 2, where: expect.stringContaining(primary.path) });
    expect(r.targets.secondary).toMatchObject({ damaged: [], damagedObjects: 0, packs: packs.length, points: 1 });
    const alert = (await s.catalog.listAlerts({ state: 'active' })).find((x) => x.key === `vault-damaged:${vault.id}`);
    expect(alert).toMatchObject({ kind: 'vault-damaged', severity: 'error', subject: "Vault 'grs' is damaged" });
    expect(alert!.message).toContain('2 damaged objects');

    // A quick verify reads no blob: it sees nothing wrong (same size) and cannot clear the alert.
    const quick = await verify('grs', false);
    expect(quick.state).toBe('succeeded');
    expect((await s.catalog.listAlerts({ state: 'active' })).map((x) => x.key)).toContain(`vault-damaged:${vault.id}`);

    // Repaired from the secondary: the next full verify is clean and resolves the alert.
    await a.put(damagedPack, await b.get(damagedPack));
    expect((await verify('grs')).state).toBe('succeeded');
    expect((await s.catalog.listAlerts({ state: 'active' })).map((x) => x.key)).not.toContain(`vault-damaged:${vault.id}`);

    // A manifest lost on the secondary alone is damage on the secondary (the mirror would read the primary's).
    await b.delete(`points/${point.id}`);
    const lost = await verify('grs');
    expect(lost.state).toBe('failed');
    expect((lost.result as any).targets.primary.damagedObjects).toBe(0);
    expect((lost.result as any).targets.secondary.damaged).toEqual([
      { key: `points/${point.id}`, reason: 'missing: the catalog records this online copy' },
    ]);
    expect(holds).toEqual({ acquired: 5, released: 5 });
    expect(s.vaults.activeReaders(vault.id)).toBe(0);
  });

  it('a primary that cannot be read fails the verify saying so, and the secondary is still verified (no damage alert); an index lost on one side', async () => {
    const s = await server();
    const primary = localTarget();
    const secondaryPath = localTarget().path;
    const { vault } = await s.vaults.createVault({ name: 'grs', target: primary, secondary: { kind: 'local', path: secondaryPath }, passphrase: PASS });
    const { point } = await backupPoint(s, { n: 20 });
    await s.vaults.uploadPoint(point.id);
    const { verify } = jobsOf(s);
    renameSync(primary.path, `${primary.path}.away`);
    const job = await verify('grs');
    expect(job.state).toBe('failed');
    expect(job.errorMessage).toMatch(/^vault 'grs': the primary cannot be read: cannot reach .* is missing \(unmounted\?\)/);
    const r = job.result as any;
    expect(r.unreadable).toEqual(['primary']);
    expect(r.targets.secondary).toMatchObject({ damagedObjects: 0, points: 1 });
    expect(r.targets.secondary.packs).toBeGreaterThan(0);
    expect((await s.catalog.listAlerts({ state: 'active' })).map((x) => x.key)).not.toContain(`vault-damaged:${vault.id}`);
    renameSync(`${primary.path}.away`, primary.path);
    expect((await verify('grs')).state).toBe('succeeded');

    // An index the primary holds and the secondary lost is damage on the secondary.
    const b = await LocalFolderBackend.open({ path: secondaryPath });
    const lostIndex = (await keys(b, 'index/'))[0]!;
    await b.delete(lostIndex);
    const lost = await verify('grs');
    expect(lost.state).toBe('failed');
    expect((lost.result as any).targets.secondary.damaged).toContainEqual({ key: lostIndex, reason: 'missing on the secondary: the primary holds it' });
    expect((lost.result as any).targets.primary.damagedObjects).toBe(0);
  });

  it('a cancelled verify ends cancelled and releases its read', async () => {
    const s = await server();
    const { vault } = await s.vaults.createVault({ name: 'big', target: localTarget(), passphrase: PASS });
    for (let i = 0; i < 4; i++) await s.vaults.uploadPoint((await backupPoint(s, { n: 40 })).point.id);
    const { jobs, holds } = jobsOf(s);
    const job = await startVaultVerify({ jobs, vaults: s.vaults, catalog: s.catalog }, 'big');
    await jobs.cancel(job.id);
    const end = (await jobs.whenEnded(job.id)).job!;
    expect(end.state).toBe('cancelled');
    expect(end.errorMessage).toMatch(/cancelled by the admin/);
    expect(holds).toEqual({ acquired: 1, released: 1 });
    expect(s.vaults.activeReaders(vault.id)).toBe(0);
  });

  it('an unknown vault is NOT_FOUND before any job starts', async () => {
    const s = await server();
    const { jobs } = jobsOf(s);
    await expect(startVaultVerify({ jobs, vaults: s.vaults, catalog: s.catalog }, 'nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await s.catalog.listJobs({ type: 'verify' })).toEqual([]);
  });
});
