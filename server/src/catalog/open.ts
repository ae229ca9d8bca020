/**
 * openCatalog(): connects, runs pending migrations, and returns the Catalog.
 *
 * Concurrency, per engine:
 * - SQLite has one connection, so every call and every transaction runs on one
 *   SerialQueue; multi-statement steps run inside a transaction on it.
 * - PostgreSQL uses a pool; plain calls run on any connection, atomic steps
 *   and Catalog.transaction() get their own transaction. Migrations run under
 *   an advisory lock so that two servers starting at once don't race.
 * On both, a transaction's callback runs in an AsyncLocalStorage scope, so a
 * call to the outer catalog from inside it is caught (CATALOG_MISUSE) instead
 * of deadlocking (SQLite) or silently escaping the transaction (PostgreSQL).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { DataSource, EntityManager } from 'typeorm';
import type { Catalog } from './catalog.js';
import { systemClock, type Clock, type RepoContext } from './context.js';
import { createCatalogDataSource, type CatalogLocation } from './datasource.js';
import { CatalogError, translateDriverError } from './errors.js';
import { agentOps } from './repos/agents.js';
import { alertOps } from './repos/alerts.js';
import { dataSourceOps } from './repos/data-sources.js';
import { enrollmentTokenOps } from './repos/enrollment-tokens.js';
import { jobOps } from './repos/jobs.js';
import { notificationChannelOps } from './repos/notification-channels.js';
import { onlinePolicyOps } from './repos/online-policies.js';
import { protectionGroupOps } from './repos/protection-groups.js';
import { recoveryPointOps } from './repos/recovery-points.js';
import { vaultPointOps } from './repos/vault-points.js';
import { vaultOps } from './repos/vaults.js';
import type { Engine } from './schema/columns.js';
import type { CatalogEntities } from './schema/entities.js';
import { SerialQueue } from './serial.js';

export interface CatalogOptions extends CatalogLocation {
  /** Source of "now" for every time the catalog sets; defaults to the system clock. */
  clock?: Clock;
}

/** Names Strata's migration lock among PostgreSQL advisory locks ("Strata" in ASCII). */
const PG_MIGRATION_LOCK = 0x537472617461;

interface TxScope {
  active: boolean;
}

async function translated<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw translateDriverError(err, what);
  }
}

/** State shared by the outer catalog and every transaction handle. */
class CatalogCore {
  private readonly queue: SerialQueue | null;
  private readonly txScope = new AsyncLocalStorage<TxScope>();
  /** Transaction callbacks running now; the scope's hooks are switched off when none is. */
  private scopes = 0;
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(
    readonly engine: Engine,
    readonly ds: DataSource,
    readonly entities: CatalogEntities,
    readonly clock: Clock,
  ) {
    this.queue = engine === 'sqlite' ? new SerialQueue() : null;
  }

  /** Admits one unit of outer work: checks state, serializes on SQLite, translates driver errors. */
  submit<T>(what: string, work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new CatalogError('CATALOG_CLOSED', `${what}: the catalog is closed`));
    if (this.txScope.getStore()?.active) {
      return Promise.reject(
        new CatalogError(
          'CATALOG_MISUSE',
          `${what}: the catalog was called from inside a transaction; use the handle passed to the transaction callback`,
        ),
      );
    }
    const run = () => translated(what, work);
    const p = this.queue ? this.queue.run(run) : run();
    this.inFlight.add(p);
    const forget = () => this.inFlight.delete(p);
    p.then(forget, forget);
    return p;
  }

  /** Runs a transaction callback with a fresh handle bound to manager m. */
  async inScope<T>(m: EntityManager, fn: (tx: Catalog) => Promise<T>): Promise<T> {
    const scope: TxScope = { active: true };
    this.scopes++;
    try {
      return await this.txScope.run(scope, () => fn(this.txCatalog(m, scope)));
    } finally {
      scope.active = false;
      // While any AsyncLocalStorage is enabled, Node runs a hook for every promise the
      // process makes (the whole server: ~2% of its CPU in a backup, and slower awaits).
      // Outside transactions nothing needs the scope (getStore() is then undefined,
      // i.e. "not in a transaction"); run() enables it again for the next one.
      if (--this.scopes === 0) this.txScope.disable();
    }
  }

  outerCatalog(): Catalog {
    const ctx: RepoContext = {
      engine: this.engine,
      entities: this.entities,
      clock: this.clock,
      run: (what, fn) => this.submit(what, () => fn(this.ds.manager)),
      atomic: (what, fn) => this.submit(what, () => this.ds.transaction((m) => fn(m))),
    };
    return assemble(ctx, {
      transaction: (fn) => this.submit('transaction', () => this.ds.transaction((m) => this.inScope(m, fn))),
      close: () => this.close(),
    });
  }

  private txCatalog(m: EntityManager, scope: TxScope): Catalog {
    const inTx = <T>(what: string, fn: (m: EntityManager) => Promise<T>): Promise<T> => {
      if (!scope.active) {
        return Promise.reject(
          new CatalogError('CATALOG_MISUSE', `${what}: transaction handle used after its transaction ended`),
        );
      }
      return translated(what, () => fn(m));
    };
    const ctx: RepoContext = { engine: this.engine, entities: this.entities, clock: this.clock, run: inTx, atomic: inTx };
    return assemble(ctx, {
      // A nested transaction is a savepoint on the same connection.
      transaction: (fn) => inTx('nested transaction', (tm) => tm.transaction((nm) => this.inScope(nm, fn))),
      close: () =>
        Promise.reject(new CatalogError('CATALOG_MISUSE', 'close: a transaction handle cannot close the catalog')),
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    if (this.ds.isInitialized) await this.ds.destroy();
  }
}

function assemble(ctx: RepoContext, own: Pick<Catalog, 'transaction' | 'close'>): Catalog {
  return {
    engine: ctx.engine,
    ...agentOps(ctx),
    ...enrollmentTokenOps(ctx),
    ...dataSourceOps(ctx),
    ...recoveryPointOps(ctx),
    ...jobOps(ctx),
    ...vaultOps(ctx),
    ...vaultPointOps(ctx),
    ...onlinePolicyOps(ctx),
    ...protectionGroupOps(ctx),
    ...alertOps(ctx),
    ...notificationChannelOps(ctx),
    ...own,
  };
}

async function runMigrations(engine: Engine, ds: DataSource): Promise<void> {
  if (engine !== 'postgres') {
    await ds.runMigrations({ transaction: 'each' });
    return;
  }
  const qr = ds.createQueryRunner();
  await qr.connect();
  try {
    await qr.query('SELECT pg_advisory_lock($1)', [PG_MIGRATION_LOCK]);
    try {
      await ds.runMigrations({ transaction: 'each' });
    } finally {
      await qr.query('SELECT pg_advisory_unlock($1)', [PG_MIGRATION_LOCK]);
    }
  } finally {
    await qr.release();
  }
}

/**
 * Opens the catalog: PostgreSQL when databaseUrl is given, otherwise the
 * embedded SQLite file <dataDir>/catalog.sqlite (created if missing, WAL mode,
 * foreign keys on). Runs every pending migration before returning.
 */
export async function openCatalog(options: CatalogOptions): Promise<Catalog> {
  const { engine, entities, dataSource, where } = createCatalogDataSource(options);
  try {
    await dataSource.initialize();
  } catch (err) {
    throw new CatalogError('CATALOG_UNAVAILABLE', `cannot open the catalog at ${where}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    await runMigrations(engine, dataSource);
  } catch (err) {
    await dataSource.destroy().catch(() => undefined);
    throw new CatalogError('CATALOG_CONFIG', `migrating the catalog at ${where} failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return new CatalogCore(engine, dataSource, entities, options.clock ?? systemClock).outerCatalog();
}
