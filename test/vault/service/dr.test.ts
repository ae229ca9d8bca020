/**
 * Disaster recovery: a brand-new server (new data dir, empty catalog, on
 * SQLite and on PostgreSQL) given only the vault's target and the passphrase
 * attaches the vault and lists the same recovery points, with their agents and
 * data sources recreated, and reads their chunks back.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pgAvailable } from '../../helpers/pg.js';
import { garbageCollect } from '../../../server/src/services/maintenance.js';
import { backupPoint, localTarget, PASS, server } from './helpers.js';

const PG = await pgAvailable();

async function lostServer() {
  const a = await server();
  const target = localTarget();
  await a.vaults.createVault({ name: 'offsite', target, passphrase: PASS });
  const p1 = await backupPoint(a, { n: 20, source: 'docs', createdAt: new Date('2026-11-20T22:00:00Z') });
  const p2 = await backupPoint(a, { n: 6, shared: p1.raws, source: 'docs', createdAt: new Date('2026-11-21T22:00:00Z'), parent: p1.point.id });
  const p3 = await backupPoint(a, { n: 10, source: 'mail', createdAt: new Date('2026-11-21T22:30:00Z') });
  for (const p of [p1, p2, p3]) await a.vaults.uploadPoint(p.point.id);
  const points = await a.catalog.listRecoveryPoints();
  const agents = await a.catalog.listAgents();
  const sources = await a.catalog.listDataSources();
  await a.close(); // the site is lost: only the vault and the passphrase remain
  return { target, points, agents, sources, raws: new Map([...p1.raws, ...p2.raws, ...p3.raws]) };
}

const ENGINES: ('sqlite' | 'postgres')[] = PG ? ['sqlite', 'postgres'] : ['sqlite'];

describe.each(ENGINES)('vault attach on a brand-new server [%s]', (engine) => {
  it('a wrong passphrase is refused clearly and leaves nothing; the right one lists every point, recreates agents and sources, and reads chunks', async () => {
    const lost = await lostServer();
    const b = await server({ engine });
    expect(await b.catalog.listRecoveryPoints()).toEqual([]);

    await expect(b.vaults.attach({ name: 'dr', target: lost.target, passphrase: 'not the passphrase at all' }))
      .rejects.toMatchObject({ code: 'VAULT_WRONG_PASSPHRASE', message: expect.stringMatching(/wrong passphrase for vault/) });
    await expect(b.vaults.attach({ name: 'dr', target: lost.target, passphrase: 'short' })).rejects.toMatchObject({ code: 'VAULT_PASSPHRASE_TOO_SHORT' });
    await expect(b.vaults.attach({ name: 'dr', target: localTarget(), passphrase: PASS })).rejects.toMatchObject({ code: 'VAULT_NOT_INITIALIZED' });
    expect(await b.catalog.listVaults()).toEqual([]);

    const r = await b.vaults.attach({ name: 'dr', target: lost.target, passphrase: PASS });
    expect(r.imported).toEqual({ points: 3, known: 0, agentsCreated: 1, dataSourcesCreated: 2, deleted: 0, failed: [] });
    expect(r.vault).toMatchObject({ name: 'dr', state: 'ready' });
    expect(r.defaultPolicy.created).toBe(true);

    // `strata points list` shows the same points (ids, sources, times, tree roots), now online-only
    const points = await b.catalog.listRecoveryPoints();
    const strip = (p: (typeof points)[number]) => ({ id: p.id, dataSourceId: p.dataSourceId, agentId: p.agentId, createdAt: p.createdAt, root: p.root, files: p.files, bytes: p.bytes, parentPointId: p.parentPointId, jobId: p.jobId });
    expect(points.map(strip)).toEqual(lost.points.map(strip));
    expect(points.every((p) => p.location === 'vault' && p.vaultId === r.vault.id)).toBe(true);
    expect((await b.catalog.listVaultPoints({ vaultId: r.vault.id })).every((v) => v.imported)).toBe(true);
    const [agent] = await b.catalog.listAgents();
    expect(agent).toMatchObject({ id: lost.agents[0]!.id, name: 'fileserver', hostname: 'fs01' });
    expect(agent!.revokedAt).not.toBeNull(); // its key is unknown: it must enroll again
    expect((await b.catalog.listDataSources()).map((s) => ({ id: s.id, name: s.name, paths: s.paths, excludes: s.excludes })))
      .toEqual(lost.sources.map((s) => ({ id: s.id, name: s.name, paths: s.paths, excludes: s.excludes })));

    // garbage collection marks from every catalog point: the imported ones have (empty) ref lists
    await expect(garbageCollect(b.catalog, b.store, async () => undefined)).resolves.toBeDefined();
    await expect(b.vaults.uploadPoint(points[0]!.id, { vault: 'dr' })).resolves.toMatchObject({ alreadyInVault: true });

    const reader = await b.vaults.reader('dr');
    for (const [hex, raw] of lost.raws) expect((await reader.readChunk(Buffer.from(hex, 'hex'))).equals(raw)).toBe(true);

    // the same vault cannot be attached twice; a rerun elsewhere keeps what exists
    await expect(b.vaults.attach({ name: 'dr2', target: lost.target, passphrase: PASS })).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/already attached as 'dr'/) });
    expect((await b.catalog.listVaults()).map((v) => v.name)).toEqual(['dr']);
    expect(readdirSync(path.join(b.dataDir, 'vault-state'))).toEqual([r.vault.id]);
    expect(await b.catalog.listRecoveryPoints()).toHaveLength(3);
  });
});
