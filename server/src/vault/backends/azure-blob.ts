/**
 * Vault backend on Azure Blob Storage (block blobs in one container), through
 * @azure/storage-blob. Tested against Azurite.
 *
 * Atomicity: a block blob becomes visible only when Put Blob (or, for objects
 * above the single-shot size, Put Block List) commits, so a reader sees the
 * old object or the whole new one. ifAbsent sends `If-None-Match: *` on that
 * commit: exact, even with concurrent writers.
 */
import {
  AnonymousCredential, BlobServiceClient, StorageSharedKeyCredential,
  type ContainerClient, type StoragePipelineOptions,
} from '@azure/storage-blob';
import {
  checkKey, checkPrefix, checkRange, rangePastEnd, VaultError,
  type ByteRange, type PutOptions, type VaultBackend, type VaultObjectInfo,
} from './backend.js';
import type { AzureVaultConfig } from './config.js';
import { networkErrorKind, readAll } from './net.js';

export class AzureBlobBackend implements VaultBackend {
  readonly description: string;
  private readonly container: ContainerClient;
  private readonly pageSize: number;
  /**
   * Client-side bound on one operation, retries included. The SDK's
   * tryTimeoutInMs only asks the *server* to give up; a server that accepts
   * the connection and never answers would hang forever without this.
   */
  private readonly deadlineMs: number;

  private constructor(private readonly config: AzureVaultConfig) {
    const net = config.network ?? {};
    const pipeline: StoragePipelineOptions = {
      retryOptions: {
        maxTries: net.maxAttempts ?? 4,
        // tryTimeoutInMs is left out on purpose: it only sets the server-side
        // `timeout` parameter, which Azure caps per operation; `deadlineMs` bounds the client.
        retryDelayInMs: net.retryDelayMs ?? 1000,
        maxRetryDelayInMs: net.maxRetryDelayMs ?? 15_000,
      },
    };
    const service = serviceClient(config, pipeline);
    this.container = service.getContainerClient(config.container);
    const host = new URL(service.url).host;
    // The endpoint is named too when it is not Azure's own (emulators, sovereign clouds, private endpoints).
    this.description = `azure://${service.accountName || host}/${config.container}`
      + (host.endsWith('.blob.core.windows.net') ? '' : ` (at ${host})`);
    this.pageSize = config.listPageSize ?? 5000;
    const attempts = net.maxAttempts ?? 4;
    this.deadlineMs = attempts * (net.requestTimeoutMs ?? 300_000) + (attempts - 1) * (net.maxRetryDelayMs ?? 15_000);
  }

  static async open(config: AzureVaultConfig): Promise<AzureBlobBackend> {
    const b = new AzureBlobBackend(config);
    if (config.createContainer) {
      try {
        await b.bounded('creating the container', (abortSignal) => b.container.createIfNotExists({ abortSignal }));
      } catch (err) {
        throw b.mapError(err, 'creating the container');
      }
    }
    return b;
  }

  async put(key: string, data: Buffer | Uint8Array, opts: PutOptions = {}): Promise<void> {
    checkKey(key, this.description);
    try {
      await this.bounded(`writing ${key}`, (abortSignal) => this.container.getBlockBlobClient(key).uploadData(data, {
        conditions: opts.ifAbsent ? { ifNoneMatch: '*' } : undefined,
        abortSignal,
      }));
    } catch (err) {
      throw this.mapError(err, `writing ${key}`, key);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    checkKey(key, this.description);
    const r = checkRange(range, key, this.description);
    if (r && r.length === 0) {
      // Azure reads count 0 as "to the end": answer from the size instead.
      const h = await this.head(key);
      if (!h) throw this.notFound(key);
      if (r.offset > h.size) throw rangePastEnd(r, h.size, key, this.description);
      return Buffer.alloc(0);
    }
    try {
      const { res, body } = await this.bounded(`reading ${key}`, async (abortSignal) => {
        const res = await this.container.getBlobClient(key).download(r?.offset ?? 0, r?.length, { abortSignal });
        return { res, body: res.readableStreamBody ? await readAll(res.readableStreamBody) : Buffer.alloc(0) };
      });
      const expected = r ? r.length : res.contentLength ?? body.length;
      if (body.length !== expected) {
        const total = /\/(\d+)$/.exec(res.contentRange ?? '')?.[1];
        if (r && body.length < r.length && total !== undefined) throw rangePastEnd(r, Number(total), key, this.description);
        throw new VaultError('io', `short read of ${key} from ${this.description}: ${body.length} of ${expected} bytes`,
          { backend: this.description, key });
      }
      return body;
    } catch (err) {
      if (r && isStatus(err, 416)) throw rangePastEnd(r, undefined, key, this.description);
      throw this.mapError(err, `reading ${key}`, key);
    }
  }

  async head(key: string): Promise<{ size: number } | null> {
    checkKey(key, this.description);
    try {
      const p = await this.bounded(`checking ${key}`, (abortSignal) => this.container.getBlobClient(key).getProperties({ abortSignal }));
      return { size: p.contentLength ?? 0 };
    } catch (err) {
      if (isStatus(err, 404)) return null;
      throw this.mapError(err, `checking ${key}`, key);
    }
  }

  async *list(prefix: string): AsyncIterable<VaultObjectInfo> {
    checkPrefix(prefix, this.description);
    // One abort controller for the whole listing, armed afresh for each page.
    const ac = new AbortController();
    const pages = this.container.listBlobsFlat({ prefix: prefix || undefined, abortSignal: ac.signal })
      .byPage({ maxPageSize: this.pageSize });
    for (;;) {
      let page;
      const what = `listing ${prefix || '/'}`;
      const timer = setTimeout(() => ac.abort(), this.deadlineMs);
      try {
        page = await pages.next();
      } catch (err) {
        throw ac.signal.aborted ? this.timedOut(what, err) : this.mapError(err, what, prefix);
      } finally {
        clearTimeout(timer);
      }
      if (page.done) return;
      for (const item of page.value.segment.blobItems) yield { key: item.name, size: item.properties.contentLength ?? 0 };
    }
  }

  async delete(key: string): Promise<void> {
    checkKey(key, this.description);
    try {
      await this.bounded(`deleting ${key}`,
        (abortSignal) => this.container.getBlobClient(key).deleteIfExists({ deleteSnapshots: 'include', abortSignal }));
    } catch (err) {
      throw this.mapError(err, `deleting ${key}`, key);
    }
  }

  async close(): Promise<void> {}

  /** Run one SDK operation under the client-side deadline. */
  private async bounded<T>(what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), this.deadlineMs);
    try {
      return await fn(ac.signal);
    } catch (err) {
      throw ac.signal.aborted ? this.timedOut(what, err) : err;
    } finally {
      clearTimeout(timer);
    }
  }

  private timedOut(what: string, cause: unknown): VaultError {
    return new VaultError('unreachable', `no answer from ${this.description} within ${this.deadlineMs} ms while ${what}`,
      { backend: this.description, cause });
  }

  private notFound(key: string, cause?: unknown): VaultError {
    return new VaultError('not-found', `${key} not found in ${this.description}`, { backend: this.description, key, cause });
  }

  private mapError(err: unknown, what: string, key?: string): VaultError {
    if (err instanceof VaultError) return err;
    const e = err as { statusCode?: number; code?: string; details?: { errorCode?: string }; message?: string; name?: string };
    const code = e.details?.errorCode ?? e.code ?? '';
    const d = { backend: this.description, key, cause: err };
    const why = `${this.description} while ${what}: ${code || e.name || 'error'}${e.statusCode ? ` (HTTP ${e.statusCode})` : ''}`;
    if (e.statusCode === 507) return new VaultError('full', `no space left in ${why}`, d);
    switch (e.statusCode) {
      case 404:
        if (code === 'ContainerNotFound') {
          return new VaultError('invalid', `container "${this.config.container}" does not exist in ${this.description}`, d);
        }
        return this.notFound(key ?? '', err);
      case 409:
      case 412:
        return new VaultError('conflict', `${key} already exists in ${this.description}`, d);
      case 401:
      case 403:
        return new VaultError('auth', `access refused by ${why}: check the account key or SAS`, d);
      case 400:
      case 416:
        return new VaultError('invalid', `request refused by ${why}`, d);
      case undefined:
        break;
      default:
        if (e.statusCode === 408 || e.statusCode === 429 || e.statusCode >= 500) {
          return new VaultError('unreachable', `${why}: the service is busy or failing; try again later`, d);
        }
    }
    if (networkErrorKind(err)) return new VaultError('unreachable', `cannot reach ${why}`, d);
    return new VaultError('io', `${why}: ${e.message ?? String(err)}`, d);
  }
}

function isStatus(err: unknown, status: number): boolean {
  return (err as { statusCode?: number })?.statusCode === status;
}

function serviceClient(c: AzureVaultConfig, pipeline: StoragePipelineOptions): BlobServiceClient {
  if (c.connectionString) return BlobServiceClient.fromConnectionString(c.connectionString, pipeline);
  const url = c.accountUrl!.replace(/\/+$/, '');
  if (c.sasToken) {
    return new BlobServiceClient(`${url}?${c.sasToken.replace(/^\?/, '')}`, new AnonymousCredential(), pipeline);
  }
  const u = new URL(url);
  const name = c.accountName
    ?? (u.hostname.includes('.blob.') ? u.hostname.split('.')[0]! : u.pathname.split('/').filter(Boolean)[0]);
  if (!name) throw new VaultError('invalid', `vault backend config: cannot tell the account name from ${url}; set "accountName"`);
  return new BlobServiceClient(url, new StorageSharedKeyCredential(name, c.accountKey!), pipeline);
}
