/**
 * Builds the TypeORM DataSource for either engine. Nothing here runs
 * migrations or synchronizes: openCatalog() does the former, nobody the latter.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { CatalogError } from './errors.js';
import { MIGRATIONS } from './migrations/index.js';
import type { Engine } from './schema/columns.js';
import { buildEntities, type CatalogEntities } from './schema/entities.js';

export interface CatalogLocation {
  /** Server data directory; the embedded catalog is <dataDir>/catalog.sqlite. */
  dataDir?: string;
  /** postgres:// or postgresql:// URL; when set, PostgreSQL is used instead of the embedded file. */
  databaseUrl?: string;
}

export const SQLITE_FILE = 'catalog.sqlite';
export const MIGRATIONS_TABLE = 'catalog_migrations';

export interface CatalogDataSource {
  engine: Engine;
  entities: CatalogEntities;
  dataSource: DataSource;
  /** Where the data lives, for messages (file path, or the URL without credentials). */
  where: string;
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://<unparseable url>';
  }
}

export function createCatalogDataSource(loc: CatalogLocation): CatalogDataSource {
  const common = {
    migrations: MIGRATIONS,
    migrationsTableName: MIGRATIONS_TABLE,
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    logging: false,
  } as const;

  if (loc.databaseUrl !== undefined && loc.databaseUrl !== '') {
    if (!/^postgres(ql)?:\/\//i.test(loc.databaseUrl)) {
      throw new CatalogError(
        'CATALOG_CONFIG',
        `catalog database URL must start with postgres:// or postgresql:// (got ${redact(loc.databaseUrl)})`,
      );
    }
    const entities = buildEntities('postgres');
    const options: DataSourceOptions = {
      ...common,
      type: 'postgres',
      url: loc.databaseUrl,
      entities: Object.values(entities),
      applicationName: 'strata',
      poolSize: 10,
    };
    return { engine: 'postgres', entities, dataSource: new DataSource(options), where: redact(loc.databaseUrl) };
  }

  if (!loc.dataDir) {
    throw new CatalogError('CATALOG_CONFIG', 'catalog: give a data directory (embedded SQLite) or a postgres:// URL');
  }
  try {
    mkdirSync(loc.dataDir, { recursive: true });
  } catch (err) {
    throw new CatalogError('CATALOG_CONFIG', `cannot create the data directory ${loc.dataDir}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const file = path.join(loc.dataDir, SQLITE_FILE);
  const entities = buildEntities('sqlite');
  const options: DataSourceOptions = {
    ...common,
    type: 'better-sqlite3',
    database: file,
    entities: Object.values(entities),
    enableWAL: true,
    timeout: 5000,
    prepareDatabase: (db: { pragma(s: string): unknown }) => {
      // A committed transaction survives power loss (WAL + synchronous=NORMAL would not promise that).
      db.pragma('synchronous = FULL');
    },
  };
  return { engine: 'sqlite', entities, dataSource: new DataSource(options), where: file };
}
