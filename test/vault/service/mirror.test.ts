/**
 * MirroredBackend under an interrupted upload: the secondary is written
 * first, so after a failure and a rerun every pack and index the primary
 * holds (and the uploader counts as held) is on the secondary too, and the
 * secondary alone serves every chunk.
 */
import { describe, expect, it } from 'vitest';
import { MirroredBackend } from '../../../server/src/services/vault-mirror.js';
import { createVault, KnownChunks, uploadPoint, Vault, VaultReader } from '../../../server/src/vault/index.js';
import { FaultyBackend } from '../../../server/src/vault/backends/index.js';
import { addPoint, localBackend, makeChunk, openStore, pointInput, refsOf, tempDir } from '../format/helpers.js';
import { PASS } from './helpers.js';

async function keys(b: { list(p: string): AsyncIterable<{ key: string }> }, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of b.list(prefix)) out.push(o.key);
  return out;
}

describe('MirroredBackend', () => {
  it.each(['primary', 'secondary'] as const)('an upload cut off on the %s resumes so that the secondary holds everything the primary does', async (side) => {
    const p0 = new FaultyBackend(await localBackend());
    const s0 = new FaultyBackend(await localBackend());
    const [primary, secondary] = [p0, s0];
    const failing = side === 'primary' ? p0 : s0;
    const mirror = new MirroredBackend(primary, secondary);
    const vault = await createVault(mirror, PASS, { retry: { attempts: 1 } });
    const store = await openStore();
    const chunks = Array.from({ length: 30 }, () => makeChunk(8 << 10));
    const raws = await addPoint(store, 'p1', chunks);
    const state = tempDir();
    const k1 = await KnownChunks.open(state, vault.id);
    // the second index object fails on one side only
    failing.inject({ ops: ['put'], key: /^index\//, skip: 1, times: 1, kind: 'io' });
    const refs = await refsOf(store, 'p1');
    const up = (known: KnownChunks) => uploadPoint({ vault, known, store, point: pointInput('p1', []), refs, packSize: 32 << 10, concurrency: 1, retry: { attempts: 1 } });
    await expect(up(k1)).rejects.toMatchObject({ kind: 'io' });
    await k1.close();
    expect((await keys(secondary, 'index/')).length).toBeGreaterThanOrEqual((await keys(primary, 'index/')).length);

    const k2 = await KnownChunks.open(state, vault.id);
    expect((await up(k2)).pointId).toBe('p1');
    for (const prefix of ['packs/', 'index/', 'refs/', 'points/']) {
      const onSecondary = new Set(await keys(secondary, prefix));
      for (const k of await keys(primary, prefix)) expect(onSecondary.has(k), k).toBe(true);
    }
    const alone = new VaultReader(new Vault(secondary, vault.config, vault.keys), k2);
    for (const [hex, raw] of raws) expect((await alone.readChunk(Buffer.from(hex, 'hex'))).equals(raw)).toBe(true);
    await k2.close();
  });

  it('head is non-null only when both hold the object; checkBoth fails when either target does', async () => {
    const a = await localBackend();
    const b = await localBackend();
    const m = new MirroredBackend(a, b);
    await a.put('x', Buffer.from('1'));
    expect(await m.head('x')).toBeNull();
    await m.put('y', Buffer.from('2'));
    expect(await m.head('y')).toEqual({ size: 1 });
    const faulty = new FaultyBackend(b);
    faulty.inject({ ops: ['head'], times: 1, kind: 'unreachable' });
    await expect(new MirroredBackend(a, faulty).checkBoth('y')).rejects.toMatchObject({ kind: 'unreachable' });
  });
});
