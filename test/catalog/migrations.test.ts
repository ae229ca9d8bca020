/** Migrations: run on an empty database, match the entities, are idempotent, and keep data across reopen. */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCatalog, SQLITE_FILE, CatalogError } from '../../server/src/catalog/index.js';
import { createCatalogDataSource, MIGRATIONS_TABLE } from '../../server/src/catalog/datasource.js';
import { MIGRATIONS } from '../../server/src/catalog/migrations/index.js';
import { describeEngines, SAMPLE_KEY } from './harness.js';

const TABLES = [
  'agents',
  'enrollment_tokens',
  'data_sources',
  'recovery_points',
  'jobs',
  'vaults',
  'online_policies',
  'protection_groups',
  'alerts',
  'notification_channels',
  'vault_points',
];

describeEngines('catalog migrations', (h) => {
  it('create every table on an empty database, matching the entities exactly', async () => {
    const c = await h.open();
    await c.close();

    const { dataSource: ds } = createCatalogDataSource(h.location);
    await ds.initialize();
    try {
      const qr = ds.createQueryRunner();
      for (const t of TABLES) expect(await qr.hasTable(t), t).toBe(true);
      await qr.release();
      expect(await ds.showMigrations()).toBe(false); // nothing pending
      // The schema the entities describe is the schema the migrations built.
      const diff = await ds.driver.createSchemaBuilder().log();
      expect(diff.upQueries.map((q) => q.query)).toEqual([]);
    } finally {
      await ds.destroy();
    }
  });

  it('are idempotent: reopening runs nothing and keeps data', async () => {
    const c1 = await h.open();
    const agent = await c1.createAgent({ hostname: 'web-01', publicKey: SAMPLE_KEY });
    await c1.close();

    const c2 = await h.open();
    expect(await c2.getAgent(agent.id)).toEqual(agent);
    await c2.close();
    const c3 = await h.open();
    expect((await c3.listAgents()).map((a) => a.id)).toEqual([agent.id]);

    const { dataSource: ds } = createCatalogDataSource(h.location);
    await ds.initialize();
    try {
      const rows: { name: string }[] = await ds.query(`SELECT name FROM ${MIGRATIONS_TABLE}`);
      expect(rows.map((r) => r.name)).toEqual(MIGRATIONS.map((M) => new M().name));
    } finally {
      await ds.destroy();
    }
  });

  it('can be undone and redone (down migrations work)', async () => {
    const c = await h.open();
    await c.close();
    const { dataSource: ds } = createCatalogDataSource(h.location);
    await ds.initialize();
    try {
      for (let i = 0; i < MIGRATIONS.length; i++) await ds.undoLastMigration();
      const qr = ds.createQueryRunner();
      for (const t of TABLES) expect(await qr.hasTable(t), t).toBe(false);
      await qr.release();
      await ds.runMigrations();
      expect(await ds.showMigrations()).toBe(false);
    } finally {
      await ds.destroy();
    }
  });

  it('migration 2 keeps existing data sources and points (SQLite rebuilds those tables)', async () => {
    const c1 = await h.open();
    const agent = await c1.createAgent({ hostname: 'web-01', publicKey: SAMPLE_KEY });
    const source = await c1.createDataSource({ agentId: agent.id, name: 'home', paths: ['/home'] });
    const point = await c1.createRecoveryPoint({
      agentId: agent.id, dataSourceId: source.id, jobId: crypto.randomUUID(), root: [], files: 1, dirs: 1, bytes: 2, bytesAdded: 2,
    });
    await c1.close();
    // Undo migration 2 with the rows in place, then let openCatalog() redo it.
    const { dataSource: ds } = createCatalogDataSource(h.location);
    await ds.initialize();
    try {
      // TypeORM turns SQLite's foreign keys off only outside a transaction, and
      // undo opens its transaction first: so undo without one.
      await ds.undoLastMigration({ transaction: h.engine === 'sqlite' ? 'none' : 'each' });
      expect(await ds.query(`SELECT COUNT(*) AS n FROM recovery_points`)).toEqual([{ n: h.engine === 'postgres' ? '1' : 1 }]);
    } finally {
      await ds.destroy();
    }
    const c2 = await h.open();
    expect(await c2.getDataSource(source.id)).toEqual({ ...source, groupId: null });
    expect(await c2.getRecoveryPoint(point.id)).toEqual({ ...point, vaultId: null });
    // The foreign keys came back too.
    await expect(c2.deleteDataSource(source.id)).rejects.toMatchObject({ code: 'IN_USE' });
  });

  // Two servers sharing one PostgreSQL catalog may start together; a SQLite
  // data dir belongs to one server process.
  it.runIf(h.engine === 'postgres')('two catalogs opening the same empty database at once both succeed', async () => {
    const [a, b] = await Promise.all([h.open(), h.open()]);
    await a.createAgent({ hostname: 'a', publicKey: SAMPLE_KEY });
    expect((await b.listAgents()).map((x) => x.name)).toEqual(['a']);
  });
});

describeEngines('catalog engine setup', (h) => {
  it('reports its engine', async () => {
    const c = await h.open();
    expect(c.engine).toBe(h.engine);
  });

  it.runIf(h.engine === 'sqlite')('uses <dataDir>/catalog.sqlite in WAL mode with foreign keys on', async () => {
    const c = await h.open();
    await c.close();
    const file = path.join(h.location.dataDir!, SQLITE_FILE);
    expect(existsSync(file)).toBe(true);
    const { dataSource: ds } = createCatalogDataSource(h.location);
    await ds.initialize();
    try {
      expect(await ds.query('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
      expect(await ds.query('PRAGMA foreign_keys')).toEqual([{ foreign_keys: 1 }]);
      expect(await ds.query('PRAGMA synchronous')).toEqual([{ synchronous: 2 }]);
    } finally {
      await ds.destroy();
    }
  });
});

describe('catalog configuration errors', () => {
  it('refuses a non-PostgreSQL URL and a missing location', async () => {
    await expect(openCatalog({ databaseUrl: 'mysql://x@localhost/db' })).rejects.toMatchObject({
      code: 'CATALOG_CONFIG',
    });
    await expect(openCatalog({})).rejects.toBeInstanceOf(CatalogError);
    const notADir = path.join(mkdtempSync(path.join(os.tmpdir(), 'strata-catalog-')), 'file');
    writeFileSync(notADir, '');
    await expect(openCatalog({ dataDir: path.join(notADir, 'data') })).rejects.toMatchObject({ code: 'CATALOG_CONFIG' });
    rmSync(path.dirname(notADir), { recursive: true, force: true });
  });

  it('reports an unreachable PostgreSQL server as CATALOG_UNAVAILABLE', async () => {
    await expect(openCatalog({ databaseUrl: 'postgres://nobody@127.0.0.1:1/none' })).rejects.toMatchObject({
      code: 'CATALOG_UNAVAILABLE',
      kind: 'transient',
    });
  });
});
