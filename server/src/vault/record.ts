/**
 * The JSON records inside sealed objects (point records, soft-delete
 * markers) start alike: `{format, version, id, …}`. One check for that
 * head, so every record refuses the same things with the same words.
 */

/** The record's fields, or the reason it is not a `what` of this format, version and id. */
export function recordHead(payload: Buffer, what: string, format: string, version: number, expectId: string): Record<string, unknown> | string {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
  } catch {
    return `${what} is not JSON`;
  }
  if (j === null || typeof j !== 'object' || j.format !== format) return `not a ${what}`;
  if (j.version !== version) return `unsupported ${what} version ${String(j.version)}`;
  if (j.id !== expectId) return `${what} names ${String(j.id)}, expected ${expectId}`;
  return j;
}
