/**
 * Catalog errors: StrataErrors (stable code, message naming the object, HTTP
 * status, exit code, kind for the retry layer). Driver errors never leave the
 * catalog untranslated when their meaning is known: unique and foreign-key
 * violations, busy / lost connections.
 */
import { StrataError, type ErrorKind } from '../errors.js';

export type CatalogErrorCode =
  | 'CONFLICT' // a uniqueness rule would be broken
  | 'IN_USE' // delete refused: other records still refer to this one
  | 'INVALID_REFERENCE' // a record names a parent that does not exist
  | 'INVALID_REQUEST' // bad argument (unknown job type, malformed hash, ...)
  | 'NOT_FOUND'
  | 'JOB_FINISHED' // finishJob on a job that already ended
  | 'CATALOG_MISUSE' // outer catalog called inside a transaction, or a stale transaction handle
  | 'CATALOG_CLOSED'
  | 'CATALOG_UNAVAILABLE' // database busy or unreachable: retry later
  | 'CATALOG_CONFIG'; // bad location / URL, or migrations failed

const SPEC: Record<CatalogErrorCode, { kind: ErrorKind; http?: number }> = {
  CONFLICT: { kind: 'invalid', http: 409 },
  IN_USE: { kind: 'invalid', http: 409 },
  INVALID_REFERENCE: { kind: 'invalid', http: 422 },
  INVALID_REQUEST: { kind: 'invalid' },
  NOT_FOUND: { kind: 'not-found' },
  JOB_FINISHED: { kind: 'invalid', http: 409 },
  CATALOG_MISUSE: { kind: 'permanent' },
  CATALOG_CLOSED: { kind: 'permanent', http: 503 },
  CATALOG_UNAVAILABLE: { kind: 'transient' },
  CATALOG_CONFIG: { kind: 'permanent' },
};

export class CatalogError extends StrataError {
  declare readonly code: CatalogErrorCode;

  constructor(code: CatalogErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, SPEC[code].kind);
    this.name = 'CatalogError';
    if (SPEC[code].http !== undefined) Object.assign(this, { httpStatus: SPEC[code].http });
    if (options?.cause !== undefined) Object.assign(this, { cause: options.cause });
  }
}

interface DriverErrorShape {
  code?: string;
  message?: string;
  detail?: string;
}

function driverErrorOf(err: unknown): DriverErrorShape | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { driverError?: unknown; code?: unknown };
  if (typeof e.driverError === 'object' && e.driverError !== null) return e.driverError as DriverErrorShape;
  if (typeof e.code === 'string') return e as DriverErrorShape;
  return undefined;
}

/** PostgreSQL SQLSTATEs worth a retry: serialization failure, deadlock, shutdown, connection loss, too many clients. */
const TRANSIENT_PG = new Set(['40001', '40P01', '57P01', '57P02', '57P03', '08000', '08003', '08006', '53300']);

/**
 * Maps a driver error (better-sqlite3 or pg, possibly wrapped in TypeORM's
 * QueryFailedError) to a CatalogError; returns anything else unchanged.
 * `what` names the operation, e.g. "create agent 'web-01'"; operations whose
 * name starts with "delete" turn a foreign-key error into IN_USE.
 */
export function translateDriverError(err: unknown, what: string): unknown {
  if (err instanceof StrataError) return err;
  const d = driverErrorOf(err);
  if (!d?.code) return err;
  const detail = d.detail ?? d.message ?? '';
  const cause = { cause: err };
  // SQLite reports an ON DELETE RESTRICT violation as SQLITE_CONSTRAINT_TRIGGER.
  const code = d.code.startsWith('SQLITE_CONSTRAINT') && /FOREIGN KEY/i.test(d.message ?? '') ? 'SQLITE_CONSTRAINT_FOREIGNKEY' : d.code;
  switch (code) {
    case '23505':
    case 'SQLITE_CONSTRAINT_UNIQUE':
    case 'SQLITE_CONSTRAINT_PRIMARYKEY':
      return new CatalogError('CONFLICT', `${what}: already exists (${detail})`, cause);
    case '23503':
    case 'SQLITE_CONSTRAINT_FOREIGNKEY':
      return what.startsWith('delete')
        ? new CatalogError('IN_USE', `${what}: other records still refer to it (${detail})`, cause)
        : new CatalogError('INVALID_REFERENCE', `${what}: refers to a record that does not exist (${detail})`, cause);
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return new CatalogError('CATALOG_UNAVAILABLE', `${what}: the database is busy (${detail})`, cause);
    default:
      if (TRANSIENT_PG.has(code) || code === 'ECONNREFUSED' || code === 'ECONNRESET') {
        return new CatalogError('CATALOG_UNAVAILABLE', `${what}: ${detail || code}`, cause);
      }
      return err;
  }
}
