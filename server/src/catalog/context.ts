/**
 * What a repository needs to run: the entity schemas, the clock, and a way to
 * run work on an EntityManager. The outer context (catalog-wide) serializes
 * work on SQLite and opens transactions for atomic steps; the transaction
 * context runs everything on the transaction's own manager.
 */
import type { EntityManager } from 'typeorm';
import type { Engine } from './schema/columns.js';
import type { CatalogEntities } from './schema/entities.js';

/** The catalog reads time only through this, so tests can move it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface RepoContext {
  readonly engine: Engine;
  readonly entities: CatalogEntities;
  readonly clock: Clock;
  /** Runs one statement's worth of work; `what` names it in error messages. */
  run<T>(what: string, fn: (m: EntityManager) => Promise<T>): Promise<T>;
  /** Runs several statements as one atomic unit (a transaction, or the enclosing one). */
  atomic<T>(what: string, fn: (m: EntityManager) => Promise<T>): Promise<T>;
}
