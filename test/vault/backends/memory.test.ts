/**
 * The test doubles: MemoryBackend passes the same conformance suite as the
 * real backends, and so does FaultyBackend wrapped around it (a wrapper must
 * not change behaviour when no fault is armed). Then the faults themselves.
 */
import { describe, expect, it } from 'vitest';
import { FaultyBackend, MemoryBackend } from '../../../server/src/vault/backends/index.js';
import { collect, expectVaultError, vaultBackendConformance } from './conformance.js';

{
  const mem = new MemoryBackend('conformance');
  vaultBackendConformance({
    name: 'memory',
    open: async () => mem,
    makeUnreachable: async () => {
      mem.offline = true;
    },
    close: async () => undefined,
    bigListing: 1100,
    openDefault: async () => mem,
    exactIfAbsent: true,
    unreachableWithinMs: 100,
  });
}

{
  const faulty = new FaultyBackend(new MemoryBackend('wrapped'));
  vaultBackendConformance({
    name: 'faulty wrapper over memory (no faults armed)',
    open: async () => faulty,
    makeUnreachable: async () => void faulty.inject({ kind: 'unreachable' }),
    close: async () => undefined,
    exactIfAbsent: true,
    unreachableWithinMs: 100,
  });
}

describe('FaultyBackend', () => {
  it("fails 'before': nothing reaches the target", async () => {
    const mem = new MemoryBackend();
    const f = new FaultyBackend(mem);
    f.inject({ ops: ['put'], key: /^packs\//, kind: 'unreachable', times: 2 });
    await expectVaultError(f.put('packs/a', Buffer.from('a')), 'unreachable');
    await expectVaultError(f.put('packs/a', Buffer.from('a')), 'unreachable');
    expect(await mem.head('packs/a')).toBeNull();
    await f.put('packs/a', Buffer.from('a')); // the third try goes through
    await f.put('index/1', Buffer.from('i')); // other keys never failed
    expect(await mem.head('packs/a')).toEqual({ size: 1 });
    expect(f.count('put', 'packs/a')).toBe(3);
  });

  it("fails 'after': the object is written but the caller sees an error (lost acknowledgement)", async () => {
    const mem = new MemoryBackend();
    const f = new FaultyBackend(mem);
    f.inject({ ops: ['put'], when: 'after', times: 1 });
    await expectVaultError(f.put('k', Buffer.from('data')), 'unreachable');
    expect((await mem.get('k')).toString()).toBe('data');
    // a resumed upload that retries with ifAbsent learns the object is already there
    await expectVaultError(f.put('k', Buffer.from('data'), { ifAbsent: true }), 'conflict');
  });

  it('skips the first matching calls, injects any kind, and can be removed or healed', async () => {
    const f = new FaultyBackend(new MemoryBackend());
    await f.put('a', Buffer.from('1'));
    const remove = f.inject({ ops: ['get'], skip: 2, kind: 'io' });
    await f.get('a');
    await f.get('a');
    const e = await expectVaultError(f.get('a'), 'io');
    expect(e.message).toMatch(/injected io fault \(before get of a\)/);
    remove();
    await f.get('a');
    f.inject({ ops: ['list'], kind: 'auth' });
    await expectVaultError(collect(f.list('')), 'auth');
    f.heal();
    expect(await collect(f.list(''))).toEqual([{ key: 'a', size: 1 }]);
  });

  it('MemoryBackend keeps a copy: the caller may reuse its buffer', async () => {
    const m = new MemoryBackend();
    const buf = Buffer.from('original');
    await m.put('k', buf);
    buf.fill(0);
    expect((await m.get('k')).toString()).toBe('original');
    (await m.get('k')).fill(0);
    expect((await m.get('k')).toString()).toBe('original');
  });
});
