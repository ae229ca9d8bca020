/**
 * The catalog: Strata's database of agents, enrollment tokens, data sources,
 * recovery points and jobs.
 *
 * Owns: the entity schemas (schema/), the committed migrations (migrations/),
 * and the only SQL in the server. Services get a Catalog from openCatalog()
 * and use its typed repositories; they never see TypeORM or SQL.
 *
 * Promises: the same entities, migrations and behaviour on the embedded SQLite
 * file (default) and on PostgreSQL (production); migrations run on open and
 * are idempotent; transactions never interfere with each other (serialized on
 * SQLite, real transactions on PostgreSQL); driver errors surface as
 * CatalogError with a stable code. See catalog.ts for each method's contract.
 */
export { openCatalog, type CatalogOptions } from './open.js';
export type {
  Catalog,
  CatalogRepos,
  CatalogTx,
  AgentsRepo,
  EnrollmentTokensRepo,
  DataSourcesRepo,
  RecoveryPointsRepo,
  JobsRepo,
} from './catalog.js';
export { systemClock, type Clock } from './context.js';
export { CatalogError, type CatalogErrorCode, type ErrorKind } from './errors.js';
export { hashEnrollmentToken } from './repos/enrollment-tokens.js';
export { SQLITE_FILE, type CatalogLocation } from './datasource.js';
export type { Engine } from './schema/columns.js';
export * from './types.js';
