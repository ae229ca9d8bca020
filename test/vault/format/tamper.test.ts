/** Damaged or tampered vault objects are refused with a clear error naming the object; nothing unauthenticated is returned. */
import { beforeEach, describe, expect, it } from 'vitest';
import { BlobCompression, ObjectType } from '../../../server/src/vault/format.js';
import { type KnownChunks, uploadPoint, type Vault, VaultCorruptError, VaultReader } from '../../../server/src/vault/index.js';
import { indexKey, PackBuilder } from '../../../server/src/vault/pack-format.js';
import { addPoint, flipByte, sha, freshVault, makeChunk, openKnown, openStore, pointInput, refsOf } from './helpers.js';

let vault: Vault;
let known: KnownChunks;
let reader: VaultReader;
let raws: Map<string, Buffer>;
let hashes: Buffer[];

beforeEach(async () => {
  const store = await openStore();
  const chunks = Array.from({ length: 6 }, () => makeChunk(4096));
  raws = await addPoint(store, 'p1', chunks);
  hashes = chunks.map((c) => c.chunk.hash);
  ({ vault } = await freshVault());
  known = await openKnown(vault);
  await uploadPoint({ vault, known, store, point: pointInput('p1', [hashes[0]]), refs: await refsOf(store, 'p1') });
  reader = new VaultReader(vault, known);
});

const loc = (h: Buffer) => known.get(vault.chunkId(h))!;
const packOf = (h: Buffer) => `packs/${loc(h).packId.slice(0, 2)}/${loc(h).packId}`;

async function corrupt(p: Promise<unknown>): Promise<VaultCorruptError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(VaultCorruptError);
  expect((err as Error).message).toContain('is damaged or was tampered with');
  return err as VaultCorruptError;
}

describe('tampering', () => {
  it('a flipped byte in a pack blob (ciphertext or nonce) fails that chunk only', async () => {
    const h = hashes[2];
    await flipByte(vault.backend, packOf(h), loc(h).offset + 40);
    const err = await corrupt(reader.readChunk(h));
    expect(err.message).toContain(packOf(h));
    expect(err.message).toContain(h.toString('hex'));
    expect(err.message).toContain('authentication failed');
    expect((await reader.readChunk(hashes[3])).equals(raws.get(hashes[3].toString('hex'))!)).toBe(true);
    await flipByte(vault.backend, packOf(hashes[4]), loc(hashes[4]).offset + 1);
    await corrupt(reader.readChunk(hashes[4]));
  });

  it('two blobs swapped inside a pack do not decrypt as each other', async () => {
    const [a, b] = [loc(hashes[0]), loc(hashes[1])];
    expect(a.length).toBe(b.length);
    const key = packOf(hashes[0]);
    const data = await vault.backend.get(key);
    const blobA = Buffer.from(data.subarray(a.offset, a.offset + a.length));
    data.copy(data, a.offset, b.offset, b.offset + b.length);
    blobA.copy(data, b.offset);
    await vault.backend.put(key, data);
    await corrupt(reader.readChunk(hashes[0]));
    await corrupt(reader.readChunk(hashes[1]));
  });

  it('a truncated or missing pack is reported as damage, not as absent data', async () => {
    const key = packOf(hashes[0]);
    const data = await vault.backend.get(key);
    await vault.backend.put(key, data.subarray(0, loc(hashes[5]).offset + 10));
    await corrupt(reader.readChunk(hashes[5]));
    await vault.backend.delete(key);
    expect((await corrupt(reader.readChunk(hashes[0]))).message).toContain('missing pack');
  });

  it('a flipped byte in an index object, or an index moved to another pack, is refused when loading it', async () => {
    const packId = loc(hashes[0]).packId;
    const fresh = await openKnown(vault);
    await flipByte(vault.backend, indexKey(packId), 30);
    expect((await corrupt(fresh.rebuild(vault))).message).toContain(indexKey(packId));
    // restore it, then copy it under another pack's name: the AAD binds the key
    const fresh2 = await openKnown(vault);
    await flipByte(vault.backend, indexKey(packId), 30);
    await fresh2.rebuild(vault);
    const other = 'ab'.repeat(16);
    await vault.backend.put(indexKey(other), await vault.backend.get(indexKey(packId)));
    await corrupt((await openKnown(vault)).rebuild(vault));
  });

  it('a flipped byte in a point manifest or its refs, or a manifest copied to another point, is refused', async () => {
    await flipByte(vault.backend, 'refs/p1', -3);
    await corrupt(reader.pointRefs('p1'));
    await vault.backend.put('points/p2', await vault.backend.get('points/p1'));
    await corrupt(reader.getPoint('p2'));
    await vault.backend.delete('points/p2');
    await flipByte(vault.backend, 'points/p1', 20);
    const err = await corrupt(reader.getPoint('p1'));
    expect(err.message).toContain('points/p1');
    const listing = (async () => {
      for await (const p of reader.listPoints()) void p;
    })();
    await corrupt(listing);
  });

  it('a blob that authenticates but does not hash to the requested SHA-256 is refused (defence against a faulty writer)', async () => {
    const x = makeChunk(100).raw;
    const y = makeChunk(100).raw;
    const b = new PackBuilder(vault.keys);
    b.add(vault.chunkId(sha(x)), BlobCompression.None, y.length, y);
    const built = b.finish();
    await vault.backend.put(built.key, built.data);
    await vault.backend.put(indexKey(built.packId), vault.seal(ObjectType.Index, indexKey(built.packId), built.indexPayload));
    const err = await corrupt(reader.readChunk(sha(x)));
    expect(err.message).toContain('SHA-256 of the decrypted chunk does not match');
  });
});
