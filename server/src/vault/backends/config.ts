/**
 * Vault backend configuration: the JSON an admin writes (or the catalog
 * stores), and its validation. Errors name the field and say what is expected.
 */
import { VaultError } from './backend.js';

/** Timeouts and retries of the cloud backends' SDKs, and list paging. */
export interface NetworkOptions {
  /** Attempts per request, including the first (default 4). */
  maxAttempts?: number;
  /**
   * Time allowed for one attempt, in ms (default 300 000: big packs on slow
   * links). Azure: the whole operation is bounded by maxAttempts × this + delays.
   */
  requestTimeoutMs?: number;
  /** First retry delay in ms (default 1000), doubling up to maxRetryDelayMs (default 15 000). Azure only. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Connection attempt timeout in ms (S3 only; default 10 000). */
  connectTimeoutMs?: number;
}

export interface LocalVaultConfig {
  kind: 'local';
  /** Folder of the vault (created if missing). */
  path: string;
}

export interface AzureVaultConfig {
  kind: 'azure';
  /** Either a connection string … */
  connectionString?: string;
  /** … or the account's blob URL, e.g. https://acct.blob.core.windows.net, with accountKey or sasToken. */
  accountUrl?: string;
  /** Defaults to the first label of the host name (or the first path segment for emulators). */
  accountName?: string;
  accountKey?: string;
  sasToken?: string;
  container: string;
  /** Create the container if it does not exist (default false). */
  createContainer?: boolean;
  /** Blobs per list request (default 5000, Azure's maximum). */
  listPageSize?: number;
  network?: NetworkOptions;
}

export interface S3VaultConfig {
  kind: 's3';
  /** For S3-compatible servers (MinIO, Ceph, …); omitted for AWS. */
  endpoint?: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** Path-style URLs (endpoint/bucket/key); most S3-compatible servers need it. */
  forcePathStyle?: boolean;
  /**
   * How put(ifAbsent) is enforced. 'server': the server honours
   * `If-None-Match: *` (AWS S3 since 2024, recent MinIO) and that is exact.
   * 'check-first' (default): a HEAD before the PUT as well, which also works
   * on servers that ignore the header (s3rver), but leaves a race window there.
   */
  conditionalPut?: 'server' | 'check-first';
  /** Create the bucket if it does not exist (default false). */
  createBucket?: boolean;
  /**
   * 'v2' (default): ListObjectsV2 with continuation tokens. 'v1': ListObjects
   * with markers, for servers whose v2 paging is broken (s3rver on Node 20).
   */
  listApi?: 'v1' | 'v2';
  /** Keys per list request (default 1000, S3's maximum). */
  listPageSize?: number;
  network?: NetworkOptions;
}

export type VaultBackendConfig = LocalVaultConfig | AzureVaultConfig | S3VaultConfig;

const FIELDS: Record<VaultBackendConfig['kind'], Record<string, 'string' | 'boolean' | 'number' | 'object'>> = {
  local: { kind: 'string', path: 'string' },
  azure: {
    kind: 'string', connectionString: 'string', accountUrl: 'string', accountName: 'string', accountKey: 'string',
    sasToken: 'string', container: 'string', createContainer: 'boolean', listPageSize: 'number', network: 'object',
  },
  s3: {
    kind: 'string', endpoint: 'string', region: 'string', bucket: 'string', accessKeyId: 'string', secretAccessKey: 'string',
    sessionToken: 'string', forcePathStyle: 'boolean', conditionalPut: 'string', createBucket: 'boolean',
    listApi: 'string', listPageSize: 'number', network: 'object',
  },
};
const NETWORK_FIELDS = ['maxAttempts', 'requestTimeoutMs', 'retryDelayMs', 'maxRetryDelayMs', 'connectTimeoutMs'];

function bad(message: string): VaultError {
  return new VaultError('invalid', `vault backend config: ${message}`);
}

/** Check an untrusted config (parsed JSON); returns it typed, or throws VaultError 'invalid'. */
export function validateVaultConfig(raw: unknown): VaultBackendConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('expected an object');
  const c = raw as Record<string, unknown>;
  const kind = c.kind;
  if (kind !== 'local' && kind !== 'azure' && kind !== 's3') {
    throw bad(`"kind" must be "local", "azure" or "s3", not ${JSON.stringify(kind)}`);
  }
  const fields = FIELDS[kind];
  for (const [name, value] of Object.entries(c)) {
    const want = fields[name];
    if (!want) throw bad(`unknown field "${name}" for kind "${kind}" (known: ${Object.keys(fields).join(', ')})`);
    if (value === undefined) continue;
    if (typeof value !== want || (want === 'object' && (value === null || Array.isArray(value)))) {
      throw bad(`"${name}" must be ${want === 'object' ? 'an' : 'a'} ${want}`);
    }
    if (want === 'string' && value === '') throw bad(`"${name}" must not be empty`);
  }
  const need = (name: string) => {
    if (c[name] === undefined) throw bad(`"${name}" is required for kind "${kind}"`);
  };
  if (c.listPageSize !== undefined) positiveInt('listPageSize', c.listPageSize);
  if (c.network !== undefined) {
    for (const [name, value] of Object.entries(c.network as object)) {
      if (!NETWORK_FIELDS.includes(name)) throw bad(`unknown field "network.${name}" (known: ${NETWORK_FIELDS.join(', ')})`);
      positiveInt(`network.${name}`, value, name === 'retryDelayMs' || name === 'maxRetryDelayMs');
    }
  }
  switch (kind) {
    case 'local':
      need('path');
      break;
    case 'azure':
      need('container');
      if (!/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/.test(c.container as string)) {
        throw bad(`"container" ${JSON.stringify(c.container)} is not a valid Azure container name (3-63 of a-z, 0-9, single '-')`);
      }
      if (c.connectionString === undefined && c.accountUrl === undefined) throw bad('give "connectionString" or "accountUrl"');
      if (c.connectionString !== undefined && c.accountUrl !== undefined) throw bad('give "connectionString" or "accountUrl", not both');
      if (c.accountUrl !== undefined) {
        url('accountUrl', c.accountUrl as string);
        if (c.accountKey === undefined && c.sasToken === undefined) throw bad('"accountUrl" needs "accountKey" or "sasToken"');
        if (c.accountKey !== undefined && c.sasToken !== undefined) throw bad('give "accountKey" or "sasToken", not both');
      } else if (c.accountKey !== undefined || c.sasToken !== undefined || c.accountName !== undefined) {
        throw bad('"accountName", "accountKey" and "sasToken" go with "accountUrl"; a connection string carries its own');
      }
      break;
    case 's3':
      for (const f of ['region', 'bucket', 'accessKeyId', 'secretAccessKey']) need(f);
      if (c.endpoint !== undefined) url('endpoint', c.endpoint as string);
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(c.bucket as string)) {
        throw bad(`"bucket" ${JSON.stringify(c.bucket)} is not a valid S3 bucket name (3-63 of a-z, 0-9, '.', '-')`);
      }
      if (c.conditionalPut !== undefined && c.conditionalPut !== 'server' && c.conditionalPut !== 'check-first') {
        throw bad('"conditionalPut" must be "server" or "check-first"');
      }
      if (c.listApi !== undefined && c.listApi !== 'v1' && c.listApi !== 'v2') throw bad('"listApi" must be "v1" or "v2"');
      break;
  }
  return c as unknown as VaultBackendConfig;
}

function positiveInt(name: string, v: unknown, zeroOk = false): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < (zeroOk ? 0 : 1)) {
    throw bad(`"${name}" must be a ${zeroOk ? 'non-negative' : 'positive'} integer`);
  }
}

function url(name: string, v: string): void {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw bad(`"${name}" is not a URL: ${JSON.stringify(v)}`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw bad(`"${name}" must be an http(s) URL`);
}

/** A copy of the config safe to log or show: secrets replaced by '***'. */
export function redactVaultConfig(c: VaultBackendConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...c };
  for (const k of ['accountKey', 'sasToken', 'secretAccessKey', 'sessionToken']) if (out[k] !== undefined) out[k] = '***';
  if (typeof out.connectionString === 'string') {
    out.connectionString = out.connectionString.replace(/(AccountKey|SharedAccessSignature)=[^;]*/gi, '$1=***');
  }
  return out;
}
