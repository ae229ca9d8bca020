/**
 * The Azure Blob vault backend against a real Azurite, started here on a free
 * loopback port: the shared conformance suite, then credentials refused,
 * a missing container, and account-URL + key configs.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openVaultBackend, type VaultBackend } from '../../../server/src/vault/backends/index.js';
import { startAzurite, type Azurite } from '../../helpers/azurite.js';
import { skipOrFail } from '../../helpers/servers.js';
import { expectVaultError, sha, vaultBackendConformance } from './conformance.js';

/** Fail fast in tests: two attempts, short delays, 10 s per attempt. */
const FAST = { maxAttempts: 2, retryDelayMs: 100, maxRetryDelayMs: 200, requestTimeoutMs: 10_000 };

async function tryStart(): Promise<Azurite | null> {
  try {
    return await startAzurite();
  } catch (e) {
    skipOrFail('Azurite (Azure Blob emulator)', (e as Error).message.split('\n')[0]!);
    return null;
  }
}

{
  let az: Azurite | null = null;
  const cfg = (extra: object = {}) => ({
    kind: 'azure', connectionString: az!.connectionString, container: 'vault', createContainer: true, network: FAST, ...extra,
  });
  vaultBackendConformance({
    name: 'azure blob (Azurite)',
    open: async ({ listPageSize }) => {
      az = await tryStart();
      return az && openVaultBackend(cfg({ listPageSize }));
    },
    // Azure's own page is 5000 blobs (~40 s to fill on Azurite); a 1000-blob page shows the same paging
    openDefault: () => openVaultBackend(cfg({ listPageSize: 1000 })),
    bigListing: 1100,
    makeUnreachable: async () => az?.stop(),
    close: async () => az?.stop(),
    exactIfAbsent: true,
    unreachableWithinMs: 5000,
  });
}

describe('azure blob vault: configuration and credentials', () => {
  let az: Azurite | null;
  beforeAll(async () => {
    az = await tryStart();
  });
  afterAll(async () => az?.stop());

  it('works with an account URL and key, and names account and container without secrets', async (ctx) => {
    if (!az) return ctx.skip();
    const b = await openVaultBackend({
      kind: 'azure', accountUrl: az.blobEndpoint, accountKey: az.accountKey, container: 'by-url', createContainer: true, network: FAST,
    });
    expect(b.description).toBe(`azure://devstoreaccount1/by-url (at 127.0.0.1:${az.port})`);
    const data = randomBytes(1000);
    await b.put('a/b', data);
    expect(sha(await b.get('a/b'))).toBe(sha(data));
  });

  it("refuses a wrong account key as 'auth'", async (ctx) => {
    if (!az) return ctx.skip();
    const wrongKey = Buffer.from('not the key of this account at all').toString('base64');
    const b = await openVaultBackend({
      kind: 'azure', accountUrl: az.blobEndpoint, accountName: az.accountName, accountKey: wrongKey,
      container: 'vault', network: FAST,
    });
    const e = await expectVaultError(b.put('x', Buffer.from('x')), 'auth');
    expect(e.message).not.toContain(wrongKey);
    await expectVaultError(b.get('x'), 'auth');
    expect(e.transient).toBe(false);
  });

  it("reports a missing container as 'invalid', naming it, unless asked to create it", async (ctx) => {
    if (!az) return ctx.skip();
    const b: VaultBackend = await openVaultBackend({ kind: 'azure', connectionString: az.connectionString, container: 'nope', network: FAST });
    const e = await expectVaultError(b.put('x', Buffer.from('x')), 'invalid');
    expect(e.message).toMatch(/container "nope" does not exist/);
    await expectVaultError((async () => { for await (const _ of b.list('')) void _; })(), 'invalid');
    expect(await b.head('x')).toBeNull();
  });
});

describe('azure blob vault: a server that accepts connections but never answers', () => {
  it("fails with 'unreachable' once the request timeout passes", async () => {
    const held: net.Socket[] = [];
    const silent = net.createServer((s) => held.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const b = await openVaultBackend({
        kind: 'azure', accountUrl: `http://127.0.0.1:${port}/devstoreaccount1`, accountKey: Buffer.from('k').toString('base64'),
        container: 'vault', network: { maxAttempts: 2, retryDelayMs: 50, maxRetryDelayMs: 100, requestTimeoutMs: 500 },
      });
      const t0 = Date.now();
      const e = await expectVaultError(b.get('x'), 'unreachable');
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(e.message).toContain('127.0.0.1');
    } finally {
      for (const s of held) s.destroy();
      silent.close();
    }
  });
});

describe('azurite helper: a restart on the same folder and port keeps the blobs', () => {
  it('serves the same objects after stop() and a new start (for resume tests)', async (ctx) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-azurite-'));
    let az: Azurite | null = null;
    try {
      az = await startAzurite({ location: dir }).catch((e) => {
        skipOrFail('Azurite (Azure Blob emulator)', (e as Error).message.split('\n')[0]!);
        return null;
      });
      if (!az) return ctx.skip();
      const config = { kind: 'azure', connectionString: az.connectionString, container: 'vault', createContainer: true, network: FAST };
      const data = randomBytes(300_000);
      const b = await openVaultBackend(config);
      await b.put('packs/p1', data);
      await az.stop();
      await expectVaultError(b.get('packs/p1'), 'unreachable');
      az = await startAzurite({ location: dir, port: az.port });
      expect(sha(await b.get('packs/p1'))).toBe(sha(data));
    } finally {
      await az?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
