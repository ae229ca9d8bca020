/** The server's local state for a vault: attach with the passphrase once, then run unattended from the saved key; streamed reads. */
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { attachVault, keyFileIn, openAttachedVault, uploadPoint, VaultReader } from '../../../server/src/vault/index.js';
import { addPoint, localBackend, makeChunk, onCleanup, openStore, PASS, pointInput, refsOf, tempDir } from './helpers.js';

describe('attached vault', () => {
  it('create + attach with the passphrase, upload unattended from the saved key, attach a second server, stream a restore', async () => {
    const backend = await localBackend();
    const stateDir = path.join(tempDir(), 'vault', 'main');
    const created = await attachVault(backend, PASS, stateDir, { create: true });
    await created.known.close();
    expect(statSync(keyFileIn(stateDir)).mode & 0o777).toBe(0o600);

    // the scheduler's job: no passphrase
    const { vault, known } = await openAttachedVault(backend, stateDir);
    onCleanup(() => known.close());
    const store = await openStore();
    const chunks = Array.from({ length: 30 }, () => makeChunk(3000));
    await addPoint(store, 'p1', chunks);
    const r = await uploadPoint({ vault, known, store, point: pointInput('p1', []), refs: await refsOf(store, 'p1'), packSize: 20 << 10 });
    expect(r.chunksSent).toBe(30);

    // another server attaches with the passphrase: it learns the vault's content from the index objects
    const other = await attachVault(backend, PASS, tempDir());
    onCleanup(() => other.known.close());
    expect(other.known.chunkCount).toBe(30);
    const reader = new VaultReader(other.vault, other.known);
    const wanted = [...chunks].reverse().map((c) => c.chunk.hash);
    const got: Buffer[] = [];
    for await (const { hash, data } of reader.readChunks(wanted, { concurrency: 6 })) {
      expect(hash.equals(wanted[got.length])).toBe(true);
      got.push(data);
    }
    expect(got.map((d) => d.toString('hex'))).toEqual([...chunks].reverse().map((c) => c.raw.toString('hex')));

    // a stream stops at the first missing chunk with a clear error
    const missing = makeChunk(10).chunk.hash;
    const stream = (async () => {
      for await (const x of reader.readChunks([wanted[0], missing, wanted[1]])) void x;
    })();
    await expect(stream).rejects.toThrow(/is not in vault/);
  });
});
