/**
 * Soft-delete markers `deleted/<pointId>` (docs/vault-format.md §6.1): sealed
 * like every envelope object and bound to their key, read back with their
 * times; a copy under another point's key, a damaged one or a foreign
 * payload is refused; listing reports damaged markers apart; the rest of the
 * vault (points, verify) is unaware of them, as a version-1 reader that
 * predates them would be.
 */
import { describe, expect, it } from 'vitest';
import {
  deletedKey, listDeletedMarkers, readDeletedMarker, removeDeletedMarker, uploadPoint, VaultCorruptError, VaultReader, verifyVault, writeDeletedMarker,
} from '../../../server/src/vault/index.js';
import { addPoint, freshVault, makeChunk, openKnown, openStore, pointInput, refsOf } from './helpers.js';

describe('soft-delete markers', () => {
  it('round-trip, refuse a moved or damaged marker, and leave points and verify untouched', async () => {
    const store = await openStore();
    const chunks = Array.from({ length: 4 }, () => makeChunk(3000));
    await addPoint(store, 'p1', chunks);
    const { vault, local } = await freshVault();
    const known = await openKnown(vault);
    await uploadPoint({ vault, known, store, point: pointInput('p1', [chunks[0]!.chunk.hash]), refs: await refsOf(store, 'p1'), packSize: 16 << 10 });
    await store.close();

    const m = { pointId: 'p1', deletedAt: new Date('2026-11-25T10:00:00Z'), purgeAfter: new Date('2026-12-09T10:00:00Z'), reason: 'retention' as const };
    expect(await readDeletedMarker(vault, 'p1')).toBeNull();
    await writeDeletedMarker(vault, m);
    expect(await readDeletedMarker(vault, 'p1')).toEqual(m);
    // The object is ciphertext: neither the id nor the times appear in it.
    const raw = await local.get(deletedKey('p1'));
    expect(raw.includes(Buffer.from('2026-12-09'))).toBe(false);

    // Moved to another point's key: fails authentication (the AAD binds the key).
    await local.put(deletedKey('p2'), raw);
    await expect(readDeletedMarker(vault, 'p2')).rejects.toBeInstanceOf(VaultCorruptError);
    const listed = await listDeletedMarkers(vault);
    expect([...listed.markers.keys()]).toEqual(['p1']);
    expect(listed.damaged).toEqual([{ pointId: 'p2', error: expect.stringMatching(/authentication failed/) }]);
    // A damaged byte: refused too.
    const bad = Buffer.from(raw);
    bad[bad.length - 3] ^= 1;
    await local.put(deletedKey('p1'), bad);
    await expect(readDeletedMarker(vault, 'p1')).rejects.toThrow(/authentication failed/);
    await writeDeletedMarker(vault, m);

    // Points and verify do not see markers: the point still exists, the vault is sound.
    expect(await new VaultReader(vault, known).pointIds()).toEqual(['p1']);
    expect((await verifyVault(vault, known)).damaged).toEqual([]);

    await removeDeletedMarker(vault, 'p1');
    await removeDeletedMarker(vault, 'p1'); // absent: fine
    expect(await readDeletedMarker(vault, 'p1')).toBeNull();
    await expect(writeDeletedMarker(vault, { ...m, pointId: '../x' })).rejects.toThrow();
  });
});
