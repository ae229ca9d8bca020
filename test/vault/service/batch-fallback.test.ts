/**
 * Batch reads with redundancy (FallbackReader.readChunksBatch, and the vault
 * restore's getStoredMany that uses it): on a GRS vault over two local
 * folders, chunks whose primary pack is damaged (one flipped byte) or
 * missing are served from the secondary, exact, while the rest come from the
 * primary; the primary alone refuses the damaged blob with VAULT_CORRUPT and
 * never returns it.
 */
import { describe, expect, it } from 'vitest';
import { vaultChunkSource } from '../../../server/src/services/vault-restore.js';
import { LocalFolderBackend } from '../../../server/src/vault/backends/index.js';
import { backupPoint, localTarget, PASS, server } from './helpers.js';

async function keys(b: LocalFolderBackend, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of b.list(prefix)) out.push(o.key);
  return out;
}

describe('batch reads from a GRS vault', () => {
  it('chunks of a damaged or missing primary pack come from the secondary; the primary alone refuses them', async () => {
    const s = await server();
    const primary = localTarget();
    await s.vaults.createVault({ name: 'grs', target: primary, secondary: localTarget(), passphrase: PASS });
    const { point, raws } = await backupPoint(s, { n: 40 });
    await s.vaults.uploadPoint(point.id);
    const a = await LocalFolderBackend.open({ path: primary.path });
    const packs = await keys(a, 'packs/');
    expect(packs.length).toBeGreaterThanOrEqual(3);
    // one pack damaged inside its first blob (same size), another lost
    const data = await a.get(packs[0]!);
    data[40] ^= 0x40;
    await a.put(packs[0]!, data);
    await a.delete(packs[1]!);

    const hashes = [...raws.keys()].map((h) => Buffer.from(h, 'hex')).reverse();
    const reader = await s.vaults.reader('grs');
    const got = await reader.readChunksBatch(hashes);
    got.forEach((d, i) => expect(d.equals(raws.get(hashes[i]!.toString('hex'))!)).toBe(true));
    expect(reader.fallbacks).toBe(1);

    const pri = await s.vaults.reader('grs', { target: 'primary' });
    await expect(pri.readChunksBatch(hashes)).rejects.toMatchObject({ code: 'VAULT_CORRUPT' });
    const settled = await pri.main.readChunksSettled(hashes);
    // the primary alone: the damaged blob and every chunk of the lost pack fail (the mirrored 'auto' reader
    // already read the lost pack from the secondary; only the damaged blob needed FallbackReader)
    const failed = settled.filter((r): r is Error => r instanceof Error);
    expect(failed.length).toBeGreaterThan(reader.fallbacks);
    for (const e of failed) expect(e).toMatchObject({ code: 'VAULT_CORRUPT' });
    expect(failed.filter((e) => e.message.includes('authentication failed'))).toHaveLength(reader.fallbacks);
    expect(failed.some((e) => e.message.includes('missing pack'))).toBe(true);
    settled.forEach((r, i) => { if (!(r instanceof Error)) expect(r.equals(raws.get(hashes[i]!.toString('hex'))!)).toBe(true); });

    // the restore's chunk source (auto) serves every chunk, exact, in the order asked
    const source = await vaultChunkSource(s.vaults, (await s.catalog.getRecoveryPoint(point.id))!, { target: 'auto' });
    const chunks = await source.getStoredMany(hashes);
    chunks.forEach((c, i) => {
      expect(c.hash.equals(hashes[i]!)).toBe(true);
      expect(c.data.equals(raws.get(c.hash.toString('hex'))!)).toBe(true);
    });
    // the secondary alone (cross-region on purpose) reads everything
    const sec = await s.vaults.reader('grs', { target: 'secondary' });
    expect((await sec.readChunksBatch(hashes)).every((d, i) => d.equals(raws.get(hashes[i]!.toString('hex'))!))).toBe(true);
  });
});
