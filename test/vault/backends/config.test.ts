/**
 * openVaultBackend() and its config validation: every bad config is a
 * VaultError 'invalid' that names the field; secrets never appear in
 * descriptions or redacted copies. No server needed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkKey, LocalFolderBackend, openVaultBackend, redactVaultConfig, validateVaultConfig, VaultError,
} from '../../../server/src/vault/backends/index.js';
import { expectVaultError, HOSTILE_KEYS } from './conformance.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-vault-config-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const azure = { kind: 'azure', connectionString: 'UseDevelopmentStorage=true', container: 'vault' };
const s3 = { kind: 's3', region: 'us-east-1', bucket: 'vault', accessKeyId: 'AK', secretAccessKey: 'SECRET' };

describe('vault backend config', () => {
  it('opens a local folder backend and creates its layout', async () => {
    const b = await openVaultBackend({ kind: 'local', path: path.join(work, 'v') });
    expect(b).toBeInstanceOf(LocalFolderBackend);
    expect(b.description).toBe(`local://${path.join(work, 'v')}`);
    expect(fs.readdirSync(path.join(work, 'v')).sort()).toEqual(['incoming', 'objects']);
  });

  it('opens cloud backends without network I/O and names them without secrets', async () => {
    const a = await openVaultBackend({
      kind: 'azure', accountUrl: 'https://acct.blob.core.windows.net', accountKey: Buffer.from('k3y').toString('base64'), container: 'vault',
    });
    expect(a.description).toBe('azure://acct/vault');
    const sas = await openVaultBackend({
      kind: 'azure', accountUrl: 'https://acct2.blob.core.windows.net/', sasToken: '?sv=2024&sig=SECRETSIG', container: 'vault',
    });
    expect(sas.description).toBe('azure://acct2/vault');
    expect(sas.description).not.toContain('SECRETSIG');
    const s = await openVaultBackend(s3);
    expect(s.description).toBe('s3://vault (us-east-1)');
    await s.close?.();
    const m = await openVaultBackend({ ...s3, endpoint: 'https://minio.lan:9000', forcePathStyle: true });
    expect(m.description).toBe('s3://minio.lan:9000/vault');
    await m.close?.();
  });

  it("maps a host name that does not resolve to 'unreachable' (Azure and S3)", async () => {
    const network = { maxAttempts: 1, requestTimeoutMs: 5000, connectTimeoutMs: 5000 };
    const a = await openVaultBackend({
      kind: 'azure', accountUrl: 'http://strata-test.invalid/acct', accountKey: Buffer.from('k').toString('base64'), container: 'vault',
      network: { maxAttempts: 1, requestTimeoutMs: 5000 },
    });
    const s = await openVaultBackend({ ...s3, endpoint: 'http://strata-test.invalid:9000', forcePathStyle: true, network });
    for (const b of [a, s]) {
      const e = await expectVaultError(b.get('k'), 'unreachable');
      expect(e.message).toContain('strata-test.invalid');
      expect(e.transient).toBe(true);
      await b.close?.();
    }
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['not an object', 'local', /expected an object/],
    ['null', null, /expected an object/],
    ['unknown kind', { kind: 'ftp' }, /"kind" must be "local", "azure" or "s3"/],
    ['local without path', { kind: 'local' }, /"path" is required/],
    ['empty path', { kind: 'local', path: '' }, /"path" must not be empty/],
    ['unknown field', { kind: 'local', path: '/x', bucket: 'b' }, /unknown field "bucket"/],
    ['wrong type', { kind: 'local', path: 7 }, /"path" must be a string/],
    ['azure without credentials', { kind: 'azure', container: 'vault' }, /"connectionString" or "accountUrl"/],
    ['azure with both', { ...azure, accountUrl: 'https://a.blob.core.windows.net' }, /not both/],
    ['azure url without key', { kind: 'azure', accountUrl: 'https://a.blob.core.windows.net', container: 'vault' }, /needs "accountKey" or "sasToken"/],
    ['azure url not a url', { kind: 'azure', accountUrl: 'not a url', accountKey: 'k', container: 'vault' }, /not a URL/],
    ['azure key with connection string', { ...azure, accountKey: 'k' }, /go with "accountUrl"/],
    ['azure bad container', { ...azure, container: 'Bad_Name' }, /not a valid Azure container name/],
    ['azure no container', { kind: 'azure', connectionString: 'x' }, /"container" is required/],
    ['s3 missing secret', { ...s3, secretAccessKey: undefined }, /"secretAccessKey" is required/],
    ['s3 bad bucket', { ...s3, bucket: 'UPPER' }, /not a valid S3 bucket name/],
    ['s3 bad endpoint', { ...s3, endpoint: 'ftp://x' }, /http\(s\) URL/],
    ['s3 bad conditionalPut', { ...s3, conditionalPut: 'maybe' }, /"conditionalPut" must be/],
    ['s3 bad listApi', { ...s3, listApi: 'v3' }, /"listApi" must be/],
    ['bad page size', { ...s3, listPageSize: 0 }, /"listPageSize" must be a positive integer/],
    ['bad network field', { ...s3, network: { retries: 3 } }, /unknown field "network.retries"/],
    ['bad network value', { ...s3, network: { maxAttempts: -1 } }, /"network.maxAttempts" must be a positive integer/],
    ['network not an object', { ...s3, network: [] }, /"network" must be an object/],
  ];
  for (const [what, config, message] of bad) {
    it(`refuses ${what}`, async () => {
      const e = await expectVaultError(openVaultBackend(config), 'invalid');
      expect(e.message).toMatch(/^vault backend config: /);
      expect(e.message).toMatch(message);
      expect(e.message).not.toMatch(/SECRET/);
      expect(e.httpStatus).toBe(400);
      expect(e.code).toBe('VAULT_INVALID');
    });
  }

  it('accepts every documented field', () => {
    expect(() => validateVaultConfig({
      ...s3, endpoint: 'http://127.0.0.1:9000', sessionToken: 't', forcePathStyle: true, conditionalPut: 'server',
      createBucket: true, listApi: 'v1', listPageSize: 500,
      network: { maxAttempts: 3, requestTimeoutMs: 1000, retryDelayMs: 0, maxRetryDelayMs: 0, connectTimeoutMs: 100 },
    })).not.toThrow();
    expect(() => validateVaultConfig({
      kind: 'azure', accountUrl: 'http://127.0.0.1:10000/devstoreaccount1', accountName: 'devstoreaccount1',
      accountKey: 'k', container: 'vault', createContainer: true, listPageSize: 100, network: { maxAttempts: 1 },
    })).not.toThrow();
  });

  it('redacts secrets for logs', () => {
    const r = redactVaultConfig({
      kind: 'azure', connectionString: 'AccountName=a;AccountKey=SECRETKEY;BlobEndpoint=http://x', container: 'vault',
    });
    expect(JSON.stringify(r)).not.toContain('SECRETKEY');
    expect(r.connectionString).toContain('AccountName=a');
    expect(JSON.stringify(redactVaultConfig(validateVaultConfig(s3)))).not.toContain('SECRET"');
  });
});

describe('vault keys', () => {
  it('accepts the keys the vault format uses', () => {
    for (const k of ['packs/ab/abcdef0123', 'index/0001', 'points/srv-1/2026-11-25T14:00:00Z', 'a', '.hidden/x', 'x..y', 'caf\u00e9']) {
      expect(() => checkKey(k), k).not.toThrow();
    }
  });
  it('refuses hostile keys with a message naming the key', () => {
    for (const k of HOSTILE_KEYS) {
      let err: unknown;
      try {
        checkKey(k, 'local:///v');
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(k)).toBeInstanceOf(VaultError);
      expect((err as VaultError).kind).toBe('invalid');
    }
  });
});
