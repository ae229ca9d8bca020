/**
 * Redundancy and cloud targets: a GRS vault with Azurite as primary and a
 * local folder as secondary writes every pack and index to both; with
 * Azurite stopped, restores read from the secondary; a damaged object on the
 * primary is read from the secondary; a new server attaches the Azurite
 * vault alone. Secrets never come back from the API.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type Azurite } from '../../helpers/azurite.js';
import { skipOrFail } from '../../helpers/servers.js';
import { apiHarness } from '../../protection/harness.js';
import { LocalFolderBackend } from '../../../server/src/vault/backends/index.js';
import { backupPoint, localTarget, PASS, server } from './helpers.js';

let azurite: Azurite | null = null;
beforeAll(async () => {
  try {
    azurite = await startAzurite();
  } catch (err) {
    skipOrFail('Azurite', (err as Error).message);
  }
});
afterAll(async () => {
  await azurite?.stop();
});

const azureTarget = (container: string) => ({
  kind: 'azure', connectionString: azurite!.connectionString, container, createContainer: true,
  network: { maxAttempts: 1, requestTimeoutMs: 3000, retryDelayMs: 0 },
});

async function keys(b: LocalFolderBackend, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of b.list(prefix)) out.push(o.key);
  return out;
}

describe('a local GRS vault (two folders)', () => {
  it('writes every object to both; a damaged or missing object on the primary is read from the secondary; cross-region reads', async () => {
    const s = await server();
    const primary = localTarget();
    const secondary = localTarget();
    const { vault } = await s.vaults.createVault({ name: 'grs', target: primary, secondary, passphrase: PASS });
    expect(vault).toMatchObject({ redundancy: 'GRS', secondary: { kind: 'local', config: { path: secondary.path } } });
    const { point, raws } = await backupPoint(s, { n: 30 });
    await s.vaults.uploadPoint(point.id);
    const a = await LocalFolderBackend.open({ path: primary.path });
    const b = await LocalFolderBackend.open({ path: secondary.path });
    for (const prefix of ['packs/', 'index/', 'refs/', 'points/', 'config']) {
      expect(await keys(a, prefix), prefix).toEqual(await keys(b, prefix));
      expect((await keys(a, prefix)).length, prefix).toBeGreaterThan(0);
    }
    // damage every pack on the primary (same size, one flipped byte each) and lose its manifest
    for (const k of await keys(a, 'packs/')) {
      const data = await a.get(k);
      data[40] ^= 0x40;
      await a.put(k, data);
    }
    await a.delete(`points/${point.id}`);
    const reader = await s.vaults.reader('grs');
    expect((await reader.getPoint(point.id)).id).toBe(point.id);
    for (const [hex, raw] of raws) expect((await reader.readChunk(Buffer.from(hex, 'hex'))).equals(raw)).toBe(true);
    expect(reader.fallbacks).toBeGreaterThan(0);
    // cross-region restore on purpose: the secondary alone
    const sec = await s.vaults.reader('grs', { target: 'secondary' });
    const [hex, raw] = [...raws][3]!;
    expect((await sec.readChunk(Buffer.from(hex, 'hex'))).equals(raw)).toBe(true);
    // the primary alone refuses the damaged blobs (never returns garbage)
    const pri = await s.vaults.reader('grs', { target: 'primary' });
    let corrupt = 0;
    for (const [h, r] of raws) {
      const got = await pri.readChunk(Buffer.from(h, 'hex')).catch((err: { code?: string }) => {
        expect(err.code).toBe('VAULT_CORRUPT');
        corrupt++;
        return null;
      });
      if (got) expect(got.equals(r)).toBe(true);
    }
    expect(corrupt).toBeGreaterThan(0);
    await expect(s.vaults.reader('plain-missing')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // disaster recovery with both targets; a secondary that is not a copy of the vault is refused
    const t = await server();
    await expect(t.vaults.attach({ name: 'bad', target: primary, secondary: localTarget(), passphrase: PASS }))
      .rejects.toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/does not hold a copy of this vault \(it is empty\)/) });
    const r = await t.vaults.attach({ name: 'grs', target: primary, secondary, passphrase: PASS });
    expect(r.vault).toMatchObject({ redundancy: 'GRS' });
    expect(r.imported.points).toBe(1);
  });
});

describe('Azure (Azurite) vaults', () => {
  it('GRS: Azurite primary + local secondary; with Azurite stopped, points and chunks are read from the secondary', async () => {
    if (!azurite) return;
    const own = await startAzurite(); // this test stops its own emulator
    const s = await server({ service: { mirror: { primaryBackoffMs: 60_000 } } });
    const secondary = localTarget();
    const target = { ...azureTarget('grs'), connectionString: own.connectionString };
    const { vault } = await s.vaults.createVault({ name: 'cloud', target, secondary, passphrase: PASS });
    expect(vault).toMatchObject({ kind: 'azure', redundancy: 'GRS' });
    const { point, raws } = await backupPoint(s, { n: 25 });
    expect(await s.vaults.uploadPoint(point.id)).toMatchObject({ chunksSent: 25 });
    await own.stop();
    const reader = await s.vaults.reader('cloud');
    const started = Date.now();
    expect(await reader.pointIds()).toEqual([point.id]);
    expect((await reader.getPoint(point.id)).chunks).toBe(25);
    for (const [hex, raw] of raws) expect((await reader.readChunk(Buffer.from(hex, 'hex'))).equals(raw)).toBe(true);
    // after the first refusal the dead primary is skipped, so reads do not wait on it chunk after chunk
    expect(Date.now() - started).toBeLessThan(20_000);
    // an upload needs both targets: it fails, raises vault-unreachable, and records nothing
    const next = await backupPoint(s, { n: 3 });
    await expect(s.vaults.uploadPoint(next.point.id)).rejects.toMatchObject({ code: 'VAULT_UNREACHABLE' });
    expect(await s.catalog.getVaultPoint(next.point.id)).toBeNull();
    const [alert] = await s.catalog.listAlerts({ state: 'active' });
    expect(alert).toMatchObject({ key: `vault-unreachable:${vault.id}`, kind: 'vault-unreachable', subject: "Vault 'cloud' is unreachable" });
  });

  it('a primary on a dead port: reads are served by the secondary', async () => {
    if (!azurite) return;
    const s = await server();
    const secondary = localTarget();
    const { vault } = await s.vaults.createVault({ name: 'cloud', target: azureTarget('deadport'), secondary, passphrase: PASS });
    expect(vault.config.createContainer).toBeUndefined(); // one-shot: not repeated at every open
    const { point, raws } = await backupPoint(s, { n: 8 });
    await s.vaults.uploadPoint(point.id);
    // the same vault with its primary pointed at a port nobody listens on
    const dead = { ...vault.config, connectionString: (vault.config.connectionString as string).replace(`:${azurite.port}/`, ':9/') };
    const t = await server({ service: { dataDir: s.dataDir } });
    await t.catalog.createVault({ ...vault, name: 'cloud', config: dead, state: 'ready' });
    const [copy] = await t.catalog.listVaults();
    // reuse the first server's saved key under the new row's id
    const { cpSync } = await import('node:fs');
    cpSync(path.join(s.dataDir, 'vault-state', vault.id), path.join(s.dataDir, 'vault-state', copy!.id), { recursive: true });
    const reader = await t.vaults.reader('cloud');
    for (const [hex, raw] of raws) expect((await reader.readChunk(Buffer.from(hex, 'hex'))).equals(raw)).toBe(true);
    expect((await reader.getPoint(point.id)).id).toBe(point.id);
  });

  it('disaster recovery from Azurite alone on a brand-new server', async () => {
    if (!azurite) return;
    const a = await server();
    await a.vaults.createVault({ name: 'cloud', target: azureTarget('drvault'), passphrase: PASS });
    const p = await backupPoint(a, { n: 12 });
    await a.vaults.uploadPoint(p.point.id);
    await a.close();
    const b = await server();
    await expect(b.vaults.attach({ name: 'cloud', target: azureTarget('drvault'), passphrase: 'this is the wrong passphrase' })).rejects.toMatchObject({ code: 'VAULT_WRONG_PASSPHRASE' });
    const r = await b.vaults.attach({ name: 'cloud', target: azureTarget('drvault'), passphrase: PASS });
    expect(r.imported.points).toBe(1);
    expect((await b.catalog.listRecoveryPoints()).map((x) => x.id)).toEqual([p.point.id]);
    const reader = await b.vaults.reader('cloud');
    for (const [hex, raw] of p.raws) expect((await reader.readChunk(Buffer.from(hex, 'hex'))).equals(raw)).toBe(true);
  });

  it('REST: secrets are write-only (…Set: true), attach and points over the API', async () => {
    if (!azurite) return;
    const h = await apiHarness('sqlite');
    try {
      const body = { name: 'cloud', target: azureTarget('api'), secondary: localTarget(), passphrase: PASS, softDeleteDays: 30 };
      const c = await h.call('POST', '/vaults', body);
      expect(c.status).toBe(201);
      expect(c.body).toMatchObject({ kind: 'azure', config: { container: 'api', connectionStringSet: true }, redundancy: 'GRS', softDeleteDays: 30, defaultPolicy: { created: true } });
      for (const r of [c, await h.call('GET', '/vaults'), await h.call('GET', '/vaults/cloud')]) {
        const text = JSON.stringify(r.body);
        expect(text).not.toContain(azurite.accountKey);
        expect(text).not.toContain('AccountKey');
        expect(text).not.toContain(PASS);
      }
      expect((await h.call('POST', '/vaults', { ...body, name: 'x', passphrase: 'short' })).body.error.code).toBe('VAULT_PASSPHRASE_TOO_SHORT');
      expect((await h.call('POST', '/vaults/attach', { name: 'again', target: azureTarget('api'), passphrase: 'wrong wrong wrong wrong' })).status).toBe(401);
      expect((await h.call('GET', '/vaults/cloud/points')).body).toEqual([]);
      expect((await h.call('DELETE', `/vault-points/${crypto.randomUUID()}`)).status).toBe(404);
      expect((await h.call('PATCH', '/vaults/cloud', { immutable: true })).body).toMatchObject({ immutable: true });
      expect((await h.call('PATCH', '/vaults/cloud', { immutable: false })).status).toBe(409);
    } finally {
      await h.close();
    }
  });
});
