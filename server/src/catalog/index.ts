/**
 * The catalog: Strata's database of agents, enrollment tokens, data sources,
 * recovery points, jobs, and protection (vaults, online policies, protection
 * groups, alerts, notification channels).
 *
 * Owns: the entity schemas (schema/), the committed migrations (migrations/),
 * and the only SQL in the server. Services get a Catalog from openCatalog()
 * and call its typed methods; they never see TypeORM or SQL.
 *
 * Promises: the same entities, migrations and behaviour on the embedded SQLite
 * file (default) and on PostgreSQL (production); pending migrations run on
 * open, and reopening is a no-op; transactions never interfere with each
 * other (serialized on SQLite, real transactions on PostgreSQL); driver errors
 * surface as CatalogError with a stable code. See catalog.ts for each method's
 * contract and open.ts for the concurrency model.
 */
export { openCatalog, type CatalogOptions } from './open.js';
export type {
  Catalog,
  CatalogOps,
  AgentOps,
  EnrollmentTokenOps,
  DataSourceOps,
  RecoveryPointOps,
  JobOps,
  VaultOps,
  VaultPointOps,
  OnlinePolicyOps,
  ProtectionGroupOps,
  AlertOps,
  NotificationChannelOps,
} from './catalog.js';
export { systemClock, type Clock } from './context.js';
export { CatalogError, type CatalogErrorCode } from './errors.js';
export { SQLITE_FILE, type CatalogLocation } from './datasource.js';
export type { Engine } from './schema/columns.js';
export * from './types.js';
