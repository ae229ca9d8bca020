import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ChunkStore, InvalidPointIdError, RefListNotFoundError } from '../../server/src/chunk-store/index.js';
import { tempDir } from './helpers.js';

describe('ref lists', () => {
  it('writes a sorted de-duplicated list and answers has() and iteration from disk', async () => {
    const s = await ChunkStore.open(tempDir());
    const hashes = Array.from({ length: 5000 }, () => randomBytes(32));
    const { count } = await s.refs.write('point-1', [...hashes, ...hashes.slice(0, 700)]);
    expect(count).toBe(5000);
    const list = await s.refs.open('point-1');
    expect(list.count).toBe(5000);
    const missing = hashes.filter((h) => !list.has(h));
    expect(missing).toHaveLength(0);
    const false_ = Array.from({ length: 500 }, () => randomBytes(32)).filter((h) => list.has(h));
    expect(false_).toHaveLength(0);
    const sorted = [...hashes].sort(Buffer.compare);
    expect(Buffer.concat([...list.iterate()])).toEqual(Buffer.concat(sorted));
    const viaAsync: Buffer[] = [];
    for await (const h of list) viaAsync.push(h);
    expect(Buffer.concat(viaAsync)).toEqual(Buffer.concat(sorted));
    list.close();
    await s.close();
  });

  it('accepts async iterables, replaces atomically, lists and deletes', async () => {
    const dir = tempDir();
    const s = await ChunkStore.open(dir);
    const a = Array.from({ length: 10 }, () => randomBytes(32));
    async function* gen(): AsyncGenerator<Buffer> { for (const h of a) yield h; }
    await s.refs.write('p.a', gen());
    await s.refs.write('p_b', []);
    expect(await s.refs.list()).toEqual(['p.a', 'p_b']);
    const empty = await s.refs.open('p_b');
    expect(empty.count).toBe(0);
    expect(empty.has(a[0]!)).toBe(false);
    expect([...empty.iterate()]).toEqual([]);
    empty.close();
    await s.refs.write('p.a', a.slice(0, 3));
    const re = await s.refs.open('p.a');
    expect(re.count).toBe(3);
    expect(re.has(a[5]!)).toBe(false);
    re.close();
    await s.refs.delete('p.a');
    await s.refs.delete('p.a'); // idempotent
    await expect(s.refs.open('p.a')).rejects.toBeInstanceOf(RefListNotFoundError);
    expect(await s.refs.exists('p.a')).toBe(false);
    expect(await s.refs.list()).toEqual(['p_b']);
    await s.close();
    const s2 = await ChunkStore.open(dir);
    expect(await s2.refs.list()).toEqual(['p_b']);
    await s2.close();
  });

  it('rejects hostile point ids and bad hashes', async () => {
    const s = await ChunkStore.open(tempDir());
    for (const id of ['', '../x', 'a/b', '.hidden', 'x'.repeat(129), 'a\0b', 'sp ace']) {
      await expect(s.refs.write(id, [])).rejects.toBeInstanceOf(InvalidPointIdError);
      await expect(s.refs.open(id)).rejects.toBeInstanceOf(InvalidPointIdError);
    }
    await expect(s.refs.write('ok', [Buffer.alloc(31)])).rejects.toThrow(/32-byte/);
    expect(await s.refs.list()).toEqual([]);
    await s.close();
  });
});
