/** The vault service on an S3-compatible server (s3rver): create, upload, disaster recovery on a new server, secrets hidden. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Server, type S3Server } from '../../helpers/s3-server.js';
import { skipOrFail } from '../../helpers/servers.js';
import { publicVault } from '../../../server/src/services/vault-targets.js';
import { backupPoint, PASS, server } from './helpers.js';

let s3: S3Server | null = null;
beforeAll(async () => {
  try {
    s3 = await startS3Server({ bucket: 'strata-vault' });
  } catch (err) {
    skipOrFail('s3rver', (err as Error).message);
  }
});
afterAll(async () => {
  await s3?.stop();
});

describe('S3 vaults', () => {
  it('create, upload, attach on a brand-new server, read back; the secret key is never shown', async () => {
    if (!s3) return;
    const target = { ...s3.config, network: { maxAttempts: 2, requestTimeoutMs: 10_000 } };
    const a = await server();
    const { vault } = await a.vaults.createVault({ name: 's3', target, passphrase: PASS, softDeleteDays: 30 });
    expect(vault).toMatchObject({ kind: 's3', config: { bucket: 'strata-vault', secretAccessKey: s3.config.secretAccessKey } });
    const shown = publicVault(vault);
    expect(shown.config).toMatchObject({ bucket: 'strata-vault', accessKeyId: s3.config.accessKeyId, secretAccessKeySet: true });
    expect((shown.config as Record<string, unknown>).secretAccessKey).toBeUndefined();
    const p = await backupPoint(a, { n: 16 });
    expect(await a.vaults.uploadPoint(p.point.id)).toMatchObject({ chunksSent: 16 });
    await a.close();

    const b = await server();
    const r = await b.vaults.attach({ name: 'restored', target, passphrase: PASS });
    expect(r.imported).toMatchObject({ points: 1, failed: [] });
    expect((await b.catalog.listRecoveryPoints()).map((x) => x.id)).toEqual([p.point.id]);
    const reader = await b.vaults.reader('restored');
    for (const [hex, raw] of p.raws) expect((await reader.readChunk(Buffer.from(hex, 'hex'))).equals(raw)).toBe(true);
  });
});
