/**
 * openCatalog(): connects, runs pending migrations, and returns the Catalog.
 *
 * Concurrency, per engine:
 * - SQLite has one connection, so every call and every transaction runs on one
 *   SerialQueue; multi-statement steps run inside a transaction on it.
 * - PostgreSQL uses a pool; plain calls run on any connection, atomic steps
 *   and Catalog.transaction() get their own transaction. Migrations are run
 *   under an advisory lock so that two servers starting at once don't race.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { DataSource, EntityManager } from 'typeorm';
import type { Catalog, CatalogRepos, CatalogTx } from './catalog.js';
import { systemClock, type Clock, type RepoContext } from './context.js';
import { createCatalogDataSource, type CatalogLocation } from './datasource.js';
import { CatalogError, translateDriverError } from './errors.js';
import { agentsRepo } from './repos/agents.js';
import { dataSourcesRepo } from './repos/data-sources.js';
import { enrollmentTokensRepo } from './repos/enrollment-tokens.js';
import { findRunningJobs, jobsRepo } from './repos/jobs.js';
import { recoveryPointsRepo } from './repos/recovery-points.js';
import type { Engine } from './schema/columns.js';
import type { CatalogEntities } from './schema/entities.js';
import { SerialQueue } from './serial.js';

export interface CatalogOptions extends CatalogLocation {
  /** Source of "now" for every timestamp the catalog sets; defaults to the system clock. */
  clock?: Clock;
}

/** Arbitrary constant naming Strata's migration lock among PostgreSQL advisory locks. */
const PG_MIGRATION_LOCK = 0x53747261_7461; // "Strata"

function buildRepos(ctx: RepoContext): CatalogRepos {
  return {
    agents: agentsRepo(ctx),
    enrollmentTokens: enrollmentTokensRepo(ctx),
    dataSources: dataSourcesRepo(ctx),
    recoveryPoints: recoveryPointsRepo(ctx),
    jobs: jobsRepo(ctx),
    findRunningJobs: () => findRunningJobs(ctx),
  };
}

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

class CatalogImpl implements Catalog {
  readonly agents: CatalogRepos['agents'];
  readonly enrollmentTokens: CatalogRepos['enrollmentTokens'];
  readonly dataSources: CatalogRepos['dataSources'];
  readonly recoveryPoints: CatalogRepos['recoveryPoints'];
  readonly jobs: CatalogRepos['jobs'];
  readonly findRunningJobs: CatalogRepos['findRunningJobs'];
  private readonly queue: SerialQueue | null;
  private readonly txScope = new AsyncLocalStorage<TxScope>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(
    readonly engine: Engine,
    private readonly ds: DataSource,
    private readonly entities: CatalogEntities,
    private readonly clock: Clock,
    private readonly where: string,
  ) {
    this.queue = engine === 'sqlite' ? new SerialQueue() : null;
    const outer: RepoContext = {
      engine,
      entities,
      clock,
      run: (what, fn) => this.submit(what, () => fn(this.ds.manager)),
      atomic: (what, fn) => this.submit(what, () => this.ds.transaction((m) => fn(m))),
    };
    const repos = buildRepos(outer);
    this.agents = repos.agents;
    this.enrollmentTokens = repos.enrollmentTokens;
    this.dataSources = repos.dataSources;
    this.recoveryPoints = repos.recoveryPoints;
    this.jobs = repos.jobs;
    this.findRunningJobs = repos.findRunningJobs;
  }

  transaction<T>(fn: (tx: CatalogTx) => Promise<T>): Promise<T> {
    return this.submit('transaction', () =>
      this.ds.transaction(async (m) => {
        const scope: TxScope = { active: true };
        try {
          return await this.txScope.run(scope, () => fn(this.txRepos(m, scope)));
        } finally {
          scope.active = false;
        }
      }),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    if (this.ds.isInitialized) await this.ds.destroy();
  }

  /** Admits one unit of work: checks state, serializes on SQLite, translates driver errors. */
  private submit<T>(what: string, work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new CatalogError('catalog.closed', `${what}: the catalog is closed`));
    if (this.txScope.getStore()?.active) {
      return Promise.reject(
        new CatalogError(
          'catalog.tx_misuse',
          `${what}: called on the catalog from inside a transaction; use the transaction handle passed to the callback`,
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

  private txRepos(m: EntityManager, scope: TxScope): CatalogTx {
    const inTx = <T>(what: string, fn: (m: EntityManager) => Promise<T>): Promise<T> => {
      if (!scope.active) {
        return Promise.reject(
          new CatalogError('catalog.tx_misuse', `${what}: transaction handle used after its transaction ended`),
        );
      }
      return translated(what, () => fn(m));
    };
    return buildRepos({ engine: this.engine, entities: this.entities, clock: this.clock, run: inTx, atomic: inTx });
  }

  toString(): string {
    return `Catalog(${this.engine}: ${this.where})`;
  }
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
    throw new CatalogError('catalog.unavailable', `cannot open the catalog at ${where}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    await runMigrations(engine, dataSource);
  } catch (err) {
    await dataSource.destroy().catch(() => undefined);
    throw new CatalogError('catalog.config', `migrating the catalog at ${where} failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return new CatalogImpl(engine, dataSource, entities, options.clock ?? systemClock, where);
}
