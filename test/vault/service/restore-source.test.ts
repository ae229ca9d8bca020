/**
 * The restore job's chunk source for a point only in the vault
 * (services/vault-restore.ts): the point's vault ref list decides which
 * chunks may be served (keyed chunk ids, checked by SHA-256), chunks come
 * back raw and exact, and a soft-deleted online copy is refused.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Compression } from '../../../server/src/chunk-store/index.js';
import { dropDiskCopy } from '../../../server/src/services/maintenance.js';
import { vaultChunkSource } from '../../../server/src/services/vault-restore.js';
import { backupPoint, localTarget, PASS, server, sha } from './helpers.js';

describe('vault chunk source for restores', () => {
  it('serves exactly the chunks of the point, raw, after its disk copy expired; refuses a soft-deleted copy', async () => {
    const s = await server();
    await s.vaults.createVault({ name: 'offsite', target: localTarget(), passphrase: PASS });
    const { point, raws } = await backupPoint(s, { n: 12 });
    await s.vaults.uploadPoint(point.id);
    await dropDiskCopy(s.catalog, s.store, (await s.catalog.getRecoveryPoint(point.id))!);
    const vaultOnly = (await s.catalog.getRecoveryPoint(point.id))!;
    expect(vaultOnly.location).toBe('vault');

    const source = await vaultChunkSource(s.vaults, vaultOnly);
    const refs = await source.refs.open(point.id);
    const hashes = [...raws.keys()].map((h) => Buffer.from(h, 'hex'));
    for (const h of hashes) expect(refs.has(h)).toBe(true);
    expect(refs.has(sha(randomBytes(16)))).toBe(false);
    refs.close();
    const chunks = await source.getStoredMany(hashes);
    expect(chunks).toHaveLength(hashes.length);
    for (const c of chunks) {
      expect(c.compression).toBe(Compression.None);
      expect(Buffer.compare(c.data, raws.get(c.hash.toString('hex'))!)).toBe(0);
      expect(c.rawSize).toBe(c.data.length);
    }

    await s.vaults.deletePoint(point.id);
    await expect(vaultChunkSource(s.vaults, vaultOnly)).rejects.toThrow(/is deleted: undelete it first/);
  });
});
