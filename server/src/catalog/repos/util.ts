/** Small helpers shared by the repositories. */

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
