/** Small helpers shared by the repositories. */
import { CatalogError } from '../errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are uuids; anything else cannot name a record (and is not sent to the database). */
export function validId(id: unknown): id is string {
  return typeof id === 'string' && UUID.test(id);
}

/** Drops keys whose value is undefined, so a partial update leaves those columns alone. */
export function definedOnly<T extends object>(patch: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(patch)) {
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

/** True if an UPDATE / DELETE touched at least one row. */
export function affected(r: { affected?: number | null }): boolean {
  return (r.affected ?? 0) > 0;
}

/** Refuses anything but a plain JSON object (a JSON column's value); returns a deep copy as stored. */
export function jsonObject(what: string, field: string, v: unknown): Record<string, unknown> {
  let copy: unknown;
  try {
    copy = JSON.parse(JSON.stringify(v)) as unknown;
  } catch {
    copy = undefined;
  }
  if (typeof copy !== 'object' || copy === null || Array.isArray(copy)) {
    throw new CatalogError('INVALID_REQUEST', `${what}: ${field} must be a JSON object`);
  }
  return copy as Record<string, unknown>;
}

/** Refuses anything but an integer >= 1 (ranges beyond that are the caller's to check). */
export function positiveInt(what: string, field: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
    throw new CatalogError('INVALID_REQUEST', `${what}: ${field} must be a positive integer (got ${String(v)})`);
  }
}

/** Refuses an empty or over-long name. */
export function checkName(what: string, name: unknown): void {
  if (typeof name !== 'string' || name.trim() === '' || name.length > 255) {
    throw new CatalogError('INVALID_REQUEST', `${what}: the name must be 1 to 255 characters`);
  }
}

export function oneOf<T extends string>(what: string, field: string, v: unknown, allowed: readonly T[]): asserts v is T {
  if (!allowed.includes(v as T)) {
    throw new CatalogError('INVALID_REQUEST', `${what}: ${field} must be one of ${allowed.join(', ')} (got '${String(v)}')`);
  }
}
