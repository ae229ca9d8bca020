/**
 * Vault backend on S3 or an S3-compatible server, through @aws-sdk/client-s3.
 * Tested against s3rver.
 *
 * Atomicity: a single PutObject is atomic on S3 (readers see the old object or
 * the whole new one). Every put carries Content-MD5, so a server that checks
 * it refuses a body damaged in transit.
 *
 * Checksums: the client is built with requestChecksumCalculation and
 * responseChecksumValidation "WHEN_REQUIRED". With the SDK's default
 * ("WHEN_SUPPORTED") uploads go out as aws-chunked streams with trailing
 * checksums, which s3rver stores corrupted without an error (STACK.md), and
 * which some other S3-compatible servers do not support either.
 *
 * ifAbsent: sent as `If-None-Match: *` (exact on AWS S3 since 2024 and on
 * recent MinIO). s3rver ignores that header on PUT, so by default
 * (conditionalPut 'check-first') a HEAD comes first and an existing key is a
 * conflict; on such a server two concurrent ifAbsent puts of one key can both
 * succeed (the last one wins). Set conditionalPut 'server' to skip the HEAD
 * where the server is known to honour the header.
 *
 * Listing: ListObjectsV2 by default; listApi 'v1' uses ListObjects with
 * markers, for servers whose v2 paging is broken (s3rver on Node 20 builds
 * its continuation tokens with DES, which OpenSSL 3 refuses: every truncated
 * v2 listing is an HTTP 500). Order is the server's: S3 returns keys in
 * UTF-8 byte order; s3rver walks its folders instead, so 'a/b' comes before
 * 'a-b' there, and marker paging across such keys can skip some.
 */
import { createHash } from 'node:crypto';
import {
  CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsCommand,
  ListObjectsV2Command, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import {
  checkKey, checkPrefix, checkRange, rangePastEnd, VaultError,
  type ByteRange, type PutOptions, type VaultBackend, type VaultObjectInfo,
} from './backend.js';
import type { S3VaultConfig } from './config.js';
import { networkErrorKind, readAll } from './net.js';

export class S3Backend implements VaultBackend {
  readonly description: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly pageSize: number;

  private constructor(private readonly config: S3VaultConfig) {
    const net = config.network ?? {};
    this.bucket = config.bucket;
    this.pageSize = config.listPageSize ?? 1000;
    this.description = config.endpoint
      ? `s3://${new URL(config.endpoint).host}/${config.bucket}`
      : `s3://${config.bucket} (${config.region})`;
    this.client = new S3Client({
      endpoint: config.endpoint,
      region: config.region,
      forcePathStyle: config.forcePathStyle ?? false,
      credentials: {
        accessKeyId: config.accessKeyId,
        secretAccessKey: config.secretAccessKey,
        sessionToken: config.sessionToken,
      },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: net.maxAttempts ?? 4,
      // With this SDK a breached requestTimeout is only a logged warning unless
      // throwOnRequestTimeout is set: a server that accepts and never answers
      // would hang the vault. socketTimeout (inactivity) is a second guard.
      requestHandler: {
        connectionTimeout: net.connectTimeoutMs ?? 10_000,
        requestTimeout: net.requestTimeoutMs ?? 300_000,
        throwOnRequestTimeout: true,
        socketTimeout: net.requestTimeoutMs ?? 300_000,
      },
    });
  }

  static async open(config: S3VaultConfig): Promise<S3Backend> {
    const b = new S3Backend(config);
    if (config.createBucket) {
      try {
        await b.client.send(new CreateBucketCommand({ Bucket: b.bucket }));
      } catch (err) {
        const name = (err as Error).name;
        if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') {
          b.client.destroy();
          throw b.mapError(err, 'creating the bucket');
        }
      }
    }
    return b;
  }

  async put(key: string, data: Buffer | Uint8Array, opts: PutOptions = {}): Promise<void> {
    checkKey(key, this.description);
    if (opts.ifAbsent && (this.config.conditionalPut ?? 'check-first') === 'check-first') {
      if (await this.head(key)) throw this.conflict(key);
    }
    try {
      await this.client.send(new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: data,
        ContentLength: data.byteLength,
        ContentMD5: createHash('md5').update(data).digest('base64'),
        IfNoneMatch: opts.ifAbsent ? '*' : undefined,
      }));
    } catch (err) {
      throw this.mapError(err, `writing ${key}`, key);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    checkKey(key, this.description);
    const r = checkRange(range, key, this.description);
    if (r && r.length === 0) {
      // "bytes=a-(a-1)" is not a valid range: answer from the size instead.
      const h = await this.head(key);
      if (!h) throw this.notFound(key);
      if (r.offset > h.size) throw rangePastEnd(r, h.size, key, this.description);
      return Buffer.alloc(0);
    }
    try {
      const res = await this.client.send(new GetObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Range: r ? `bytes=${r.offset}-${r.offset + r.length - 1}` : undefined,
      }));
      const body = res.Body ? await readAll(res.Body as AsyncIterable<Uint8Array>) : Buffer.alloc(0);
      const expected = r ? r.length : res.ContentLength ?? body.length;
      if (r && body.length > r.length) {
        // More than asked (s3rver answers "bytes=0-0" with the whole object): keep
        // the asked bytes if the answer says where it starts and covers them.
        const start = res.ContentRange ? Number(/bytes (\d+)-/.exec(res.ContentRange)?.[1] ?? NaN) : 0;
        if (start <= r.offset && start + body.length >= r.offset + r.length) {
          return body.subarray(r.offset - start, r.offset - start + r.length);
        }
      }
      if (body.length !== expected) {
        const total = /\/(\d+)$/.exec(res.ContentRange ?? '')?.[1];
        if (r && body.length < r.length && total !== undefined) throw rangePastEnd(r, Number(total), key, this.description);
        throw new VaultError('io', `short read of ${key} from ${this.description}: ${body.length} of ${expected} bytes`,
          { backend: this.description, key });
      }
      return body;
    } catch (err) {
      if (r && status(err) === 416) throw rangePastEnd(r, undefined, key, this.description);
      throw this.mapError(err, `reading ${key}`, key);
    }
  }

  async head(key: string): Promise<{ size: number } | null> {
    checkKey(key, this.description);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: res.ContentLength ?? 0 };
    } catch (err) {
      // A HEAD answer has no body, so a missing bucket looks like a missing key here.
      if (status(err) === 404) return null;
      throw this.mapError(err, `checking ${key}`, key);
    }
  }

  async *list(prefix: string): AsyncIterable<VaultObjectInfo> {
    checkPrefix(prefix, this.description);
    const v1 = this.config.listApi === 'v1';
    let token: string | undefined;
    do {
      let contents: Array<{ Key?: string; Size?: number }>;
      try {
        if (v1) {
          // ListObjects (v1) pages by marker = the last key seen (NextMarker only comes with a delimiter).
          const res = await this.client.send(new ListObjectsCommand({
            Bucket: this.bucket, Prefix: prefix || undefined, MaxKeys: this.pageSize, Marker: token,
          }));
          contents = res.Contents ?? [];
          token = res.IsTruncated ? res.NextMarker ?? contents.at(-1)?.Key : undefined;
        } else {
          const res = await this.client.send(new ListObjectsV2Command({
            Bucket: this.bucket, Prefix: prefix || undefined, MaxKeys: this.pageSize, ContinuationToken: token,
          }));
          contents = res.Contents ?? [];
          token = res.IsTruncated ? res.NextContinuationToken : undefined;
        }
      } catch (err) {
        throw this.mapError(err, `listing ${prefix || '/'}`, prefix);
      }
      for (const o of contents) yield { key: o.Key!, size: o.Size ?? 0 };
    } while (token);
  }

  async delete(key: string): Promise<void> {
    checkKey(key, this.description);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (status(err) === 404 && (err as Error).name !== 'NoSuchBucket') return;
      throw this.mapError(err, `deleting ${key}`, key);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private notFound(key: string, cause?: unknown): VaultError {
    return new VaultError('not-found', `${key} not found in ${this.description}`, { backend: this.description, key, cause });
  }

  private conflict(key: string, cause?: unknown): VaultError {
    return new VaultError('conflict', `${key} already exists in ${this.description}`, { backend: this.description, key, cause });
  }

  private mapError(err: unknown, what: string, key?: string): VaultError {
    if (err instanceof VaultError) return err;
    const name = (err as Error)?.name ?? '';
    const code = status(err);
    const d = { backend: this.description, key, cause: err };
    const why = `${this.description} while ${what}: ${name || 'error'}${code ? ` (HTTP ${code})` : ''}`;
    if (name === 'NoSuchBucket') return new VaultError('invalid', `bucket "${this.bucket}" does not exist at ${this.description}`, d);
    if (code === 507 || ['XMinioStorageFull', 'QuotaExceeded', 'XMinioAdminBucketQuotaExceeded'].includes(name)) {
      return new VaultError('full', `no space left in ${why}`, d);
    }
    switch (code) {
      case 404:
        return this.notFound(key ?? '', err);
      case 409:
      case 412:
        return this.conflict(key ?? '', err);
      case 401:
      case 403:
        return new VaultError('auth', `access refused by ${why}: check the access key and secret`, d);
      case 400:
      case 411:
      case 416:
        return new VaultError('invalid', `request refused by ${why}: ${(err as Error).message}`, d);
      case undefined:
        break;
      default:
        if (code === 408 || code === 429 || code >= 500) {
          return new VaultError('unreachable', `${why}: the service is busy or failing; try again later`, d);
        }
    }
    if (networkErrorKind(err)) return new VaultError('unreachable', `cannot reach ${why}`, d);
    return new VaultError('io', `${why}: ${(err as Error)?.message ?? String(err)}`, d);
  }
}

function status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}
