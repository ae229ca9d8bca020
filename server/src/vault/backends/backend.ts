/**
 * The vault backend: where the cloud tier's objects (packs, indexes, point
 * records) are stored. One small interface; implementations side by side
 * (local folder, Azure Blob, S3); retry, throttling, mirroring to a secondary
 * target are wrappers that implement this same interface.
 *
 * Contracts every implementation keeps (the conformance suite in
 * test/vault/backends checks them against the real servers):
 * - Keys are validated by {@link checkKey} on the way in; a bad key is refused
 *   with VaultError 'invalid' before any I/O.
 * - `put` is atomic: a reader sees the previous object (or none) until `put`
 *   resolves, then the whole new object; never a partial one.
 * - `get` returns exactly the bytes asked for. A range that ends past the end
 *   of the object is an error ('invalid'), never a short read.
 * - Errors are always VaultError, sorted by `kind`; only the retry layer
 *   looks at `transient`.
 */

export interface VaultObjectInfo {
  key: string;
  size: number;
}

export interface ByteRange {
  offset: number;
  length: number;
}

export interface PutOptions {
  /**
   * Fail with VaultError 'conflict' if the key already exists. Exact on the
   * local folder and Azure; on S3 it relies on the server honouring
   * `If-None-Match: *`, plus a HEAD check first (see s3.ts).
   */
  ifAbsent?: boolean;
}

export interface VaultBackend {
  /** For messages and logs, e.g. "azure://account/container" — never includes secrets. */
  readonly description: string;
  /**
   * Stores the whole object atomically: when it resolves the object is durable
   * and complete; a reader never sees a partial object. Overwrites unless
   * `ifAbsent` is set.
   */
  put(key: string, data: Buffer | Uint8Array, opts?: PutOptions): Promise<void>;
  /**
   * The whole object, or `range.length` bytes from `range.offset`.
   * VaultError 'not-found' if the object is missing; 'invalid' if the range
   * does not lie inside the object (a short read is never returned).
   */
  get(key: string, range?: ByteRange): Promise<Buffer>;
  /** Size of the object, or null if it does not exist. */
  head(key: string): Promise<{ size: number } | null>;
  /**
   * Objects whose key starts with `prefix` (a plain string prefix: 'packs/a'
   * matches 'packs/ab/…'), in lexicographic (byte) order of the key, paged
   * internally. '' lists everything. Objects put or deleted while the listing
   * runs may or may not appear.
   */
  list(prefix: string): AsyncIterable<VaultObjectInfo>;
  /** Idempotent: deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Releases connections and handles; the backend is not used afterwards. */
  close?(): Promise<void>;
}

export type VaultErrorKind =
  /** The object does not exist. */
  | 'not-found'
  /** `ifAbsent` put of a key that exists. */
  | 'conflict'
  /** Network failure, timeout, or the service says "try later" (5xx, throttling). Transient. */
  | 'unreachable'
  /** Credentials refused or missing permission. */
  | 'auth'
  /** The target has no space left (disk full, quota exceeded). */
  | 'full'
  /** Bad key, bad range, bad configuration, missing container or bucket. */
  | 'invalid'
  /** Anything else the target reported; permanent until someone looks. */
  | 'io';

const HTTP: Record<VaultErrorKind, number> = {
  'not-found': 404, conflict: 409, unreachable: 503, auth: 502, full: 507, invalid: 400, io: 500,
};

export class VaultError extends Error {
  /** Stable code, e.g. VAULT_NOT_FOUND. */
  readonly code: string;
  readonly httpStatus: number;
  constructor(
    readonly kind: VaultErrorKind,
    message: string,
    readonly details: { backend?: string; key?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'VaultError';
    this.code = `VAULT_${kind.toUpperCase().replace('-', '_')}`;
    this.httpStatus = HTTP[kind];
  }

  /** Worth retrying later with the same request. */
  get transient(): boolean {
    return this.kind === 'unreachable';
  }
}

export function isVaultError(err: unknown, kind?: VaultErrorKind): err is VaultError {
  return err instanceof VaultError && (kind === undefined || err.kind === kind);
}

/** Longest key accepted (Azure allows 1024 characters, S3 1024 bytes). */
export const MAX_KEY_BYTES = 1024;

/**
 * Refuse keys that are not plain '/'-separated relative names: empty, leading
 * or trailing '/', empty segments, '.' or '..' segments, backslashes, NUL and
 * other control characters, or longer than {@link MAX_KEY_BYTES}.
 */
export function checkKey(key: string, backend?: string): void {
  const bad = keyProblem(key);
  if (bad) throw new VaultError('invalid', `vault key ${JSON.stringify(key)} refused: ${bad}`, { backend, key });
}

/** A list prefix is a key prefix: '' is allowed, and so is a trailing '/'. */
export function checkPrefix(prefix: string, backend?: string): void {
  if (prefix === '') return;
  const bad = keyProblem(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  if (bad) throw new VaultError('invalid', `vault prefix ${JSON.stringify(prefix)} refused: ${bad}`, { backend, key: prefix });
}

function keyProblem(key: unknown): string | null {
  if (typeof key !== 'string') return 'not a string';
  if (key === '') return 'empty';
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) return `longer than ${MAX_KEY_BYTES} bytes`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'contains a control character';
  if (key.includes('\\')) return 'contains a backslash';
  if (key.startsWith('/')) return 'starts with /';
  for (const seg of key.split('/')) {
    if (seg === '') return 'has an empty segment';
    if (seg === '.' || seg === '..') return `has a '${seg}' segment`;
  }
  return null;
}

/** Check a range argument; returns it normalised, or undefined for the whole object. */
export function checkRange(range: ByteRange | undefined, key: string, backend: string): ByteRange | undefined {
  if (range === undefined) return undefined;
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new VaultError('invalid', `bad range offset=${offset} length=${length} for ${key} in ${backend}`, { backend, key });
  }
  return { offset, length };
}

export function rangePastEnd(range: ByteRange, size: number | undefined, key: string, backend: string): VaultError {
  const known = size === undefined || Number.isNaN(size) ? '' : ` (${size} bytes)`;
  return new VaultError('invalid',
    `range ${range.offset}+${range.length} lies past the end of ${key}${known} in ${backend}`, { backend, key });
}
