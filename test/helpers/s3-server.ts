/**
 * A real S3-compatible server (s3rver) for tests, started as a child process
 * on a free loopback port with its data in a folder, and one bucket created.
 *
 * s3rver TRAP (STACK.md): a streamed PutObject with the SDK's default
 * checksums is stored corrupted without an error. Clients must set
 * requestChecksumCalculation / responseChecksumValidation to "WHEN_REQUIRED"
 * (the S3 vault backend does), and tests read every object back.
 * s3rver also ignores `If-None-Match` on PUT, does not check SigV4 signatures
 * (only the access key id), answers every truncated ListObjectsV2 with HTTP 500
 * on Node 20 (the config here lists with v1), and lists in folder-walk order
 * rather than byte order (see server/src/vault/backends/s3.ts).
 */
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnListening } from './azurite.js';

const require = createRequire(import.meta.url);

/** s3rver's fixed development credentials (public; not a secret). */
export const S3RVER_ACCESS_KEY = 'S3RVER';
export const S3RVER_SECRET_KEY = 'S3RVER';

export interface S3Server {
  port: number;
  endpoint: string;
  bucket: string;
  /** Folder holding the buckets. */
  directory: string;
  /** A config for openVaultBackend({ kind: 's3', ... }). */
  config: {
    kind: 's3';
    endpoint: string;
    region: string;
    bucket: string;
    accessKeyId: string;
    secretAccessKey: string;
    forcePathStyle: true;
    listApi: 'v1';
  };
  /** Stops the server (keeps the folder unless it was made here and `keep` is false). Safe to call twice. */
  stop(opts?: { keep?: boolean }): Promise<void>;
}

export interface S3ServerOptions {
  bucket?: string;
  /** Data folder (default: a new tmp folder, removed on stop). */
  directory?: string;
  port?: number;
  startTimeoutMs?: number;
}

export async function startS3Server(opts: S3ServerOptions = {}): Promise<S3Server> {
  const bucket = opts.bucket ?? 'vault';
  const ownDir = !opts.directory;
  const directory = opts.directory ?? fs.mkdtempSync(path.join(os.tmpdir(), 'strata-s3rver-'));
  const bin = path.join(path.dirname(require.resolve('s3rver/package.json')), 'bin/s3rver.js');
  const args = [bin, '-d', directory, '-a', '127.0.0.1', '-p', String(opts.port ?? 0), '-s', '--configure-bucket', bucket];
  let child;
  try {
    child = await spawnListening('s3rver', process.execPath, args, /S3rver listening on [\d.]+:(\d+)/, opts.startTimeoutMs ?? 20_000);
  } catch (err) {
    if (ownDir) fs.rmSync(directory, { recursive: true, force: true });
    throw err;
  }
  const endpoint = `http://127.0.0.1:${child.port}`;
  return {
    port: child.port,
    endpoint,
    bucket,
    directory,
    config: {
      kind: 's3', endpoint, region: 'us-east-1', bucket,
      accessKeyId: S3RVER_ACCESS_KEY, secretAccessKey: S3RVER_SECRET_KEY, forcePathStyle: true,
      // s3rver's ListObjectsV2 paging fails on Node 20 (DES continuation tokens): list with v1 markers
      listApi: 'v1',
    },
    async stop(o = {}) {
      await child.stop();
      if (ownDir && !o.keep) fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
