import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChunkStore } from '../../server/src/chunk-store/index.js';
import { Bloom } from '../../server/src/chunk-store/bloom.js';
import { INDEX_RUN_MAGIC } from '../../server/src/chunk-store/format.js';
import { bufferSource, MergeCursor } from '../../server/src/chunk-store/merge.js';
import { ExternalSorter, sortRecords } from '../../server/src/chunk-store/sort.js';
import { TableReader, TableWriter } from '../../server/src/chunk-store/table.js';
import { rawChunk, tempDir } from './helpers.js';

function runFiles(dir: string): string[] {
  return readdirSync(path.join(dir, 'index')).filter((n) => n.startsWith('run-') && n.endsWith('.idx'));
}

async function countPresent(s: ChunkStore, hashes: Buffer[]): Promise<number> {
  let n = 0;
  for (const h of hashes) if (await s.has(h)) n++;
  return n;
}

function records(n: number, size: number): Buffer {
  const b = randomBytes(n * size);
  return b;
}

describe('sorted tables and merging', () => {
  it('sortRecords sorts by hash and keeps the last of equal keys', () => {
    const size = 40;
    const b = records(5000, size);
    b.copy(b, 4999 * size, 10 * size, 10 * size + 32); // duplicate key of record 10, added later
    const out = sortRecords(b, size);
    expect(out.length).toBe(4999 * size);
    for (let i = 1; i < 4999; i++) expect(Buffer.compare(out.subarray((i - 1) * size, (i - 1) * size + 32), out.subarray(i * size, i * size + 32))).toBe(-1);
    const at = out.indexOf(b.subarray(10 * size, 10 * size + 32));
    expect(out.subarray(at + 32, at + size)).toEqual(b.subarray(4999 * size + 32, 5000 * size));
  });

  it('table writer and reader: every key found, absent keys not, empty and tiny tables work', async () => {
    const dir = tempDir();
    for (const n of [0, 1, 7, 3000]) {
      const file = path.join(dir, `t${n}.idx`);
      const sorted = sortRecords(records(n, 48), 48);
      const w = await TableWriter.create(file, INDEX_RUN_MAGIC, 48, n);
      for (let at = 0; at < sorted.length; at += 48) await w.add(sorted, at);
      await w.finish();
      for (const cache of [0, 1 << 20]) {
        const r = TableReader.open(dir, file, INDEX_RUN_MAGIC, 48, cache);
        expect(r.count).toBe(sorted.length / 48);
        let wrong = 0;
        for (let at = 0; at < sorted.length; at += 48) if (!r.find(sorted.subarray(at, at + 32))?.equals(sorted.subarray(at, at + 48))) wrong++;
        expect(wrong).toBe(0);
        expect(Array.from({ length: 50 }, () => r.find(randomBytes(32))).filter(Boolean)).toHaveLength(0);
        const seen: Buffer[] = [];
        for await (const b of r.batches(dir, 4096)) seen.push(Buffer.from(b));
        expect(Buffer.concat(seen)).toEqual(sorted);
        r.close();
      }
    }
  });

  it('bloom filter: no false negatives, few false positives, survives save/load, rejects damage', async () => {
    const keys = Array.from({ length: 20000 }, () => randomBytes(32));
    const b = Bloom.forCount(keys.length);
    for (const k of keys) b.add(k);
    expect(keys.filter((k) => !b.mayHave(k))).toHaveLength(0);
    const fp = Array.from({ length: 20000 }, () => randomBytes(32)).filter((k) => b.mayHave(k)).length;
    expect(fp).toBeLessThan(20000 * 0.03);
    const file = path.join(tempDir(), 'x.bloom');
    await b.save(file, keys.length);
    const back = (await Bloom.load(file))!;
    expect(keys.filter((k) => !back.mayHave(k))).toHaveLength(0);
    const { readFileSync, writeFileSync } = await import('node:fs');
    const raw = readFileSync(file);
    raw[raw.length - 1] = raw[raw.length - 1]! ^ 0xff;
    writeFileSync(file, raw);
    expect(await Bloom.load(file)).toBeUndefined();
  });

  it('table writer refuses out-of-order keys', async () => {
    const w = await TableWriter.create(path.join(tempDir(), 'bad.idx'), INDEX_RUN_MAGIC, 48, 2);
    await w.add(Buffer.alloc(48, 2));
    expect(() => w.add(Buffer.alloc(48, 1))).toThrow(/out of order/);
    await w.abort();
  });

  it('MergeCursor yields keys in order, newest source first on ties', async () => {
    const a = sortRecords(records(300, 36), 36);
    const b = sortRecords(records(300, 36), 36);
    const dup = Buffer.from(a.subarray(36 * 5, 36 * 6));
    dup.writeUInt32LE(0xfeed, 32);
    const c = sortRecords(dup, 36);
    const cur = await MergeCursor.open([bufferSource(a), bufferSource(b), bufferSource(c)], 36);
    const out: Array<{ rec: Buffer; src: number }> = [];
    while (!cur.done) {
      out.push({ rec: Buffer.from(cur.record()), src: cur.source });
      const p = cur.next();
      if (p) await p;
    }
    expect(out).toHaveLength(601);
    for (let i = 1; i < out.length; i++) expect(Buffer.compare(out[i - 1]!.rec.subarray(0, 32), out[i]!.rec.subarray(0, 32))).toBeLessThanOrEqual(0);
    const i = out.findIndex((o) => o.rec.subarray(0, 32).equals(dup.subarray(0, 32)));
    expect(out[i]!.src).toBe(2);
    expect(out[i + 1]!.src).toBe(0);
  });

  it('ExternalSorter spills, merges and de-duplicates', async () => {
    const s = new ExternalSorter(tempDir(), 32, 1000);
    const keys = Array.from({ length: 3500 }, () => randomBytes(32));
    for (const k of keys) await s.add(k);
    for (const k of keys.slice(0, 500)) await s.add(k);
    const out: Buffer[] = [];
    for await (const b of s.sorted()) out.push(Buffer.from(b));
    await s.dispose();
    const all = Buffer.concat(out);
    expect(all.length).toBe(3500 * 32);
    expect(all).toEqual(Buffer.concat([...keys].sort(Buffer.compare)));
  });
});

describe('index merging inside the store', () => {
  it.each([
    ['with bloom filters', 64 << 20],
    ['without bloom filters', 0],
  ])('keeps every lookup right across thousands of chunks, merges and reopen (%s)', async (_, bloomBytes) => {
    const dir = tempDir();
    const opts = { packTargetSize: 8 * 1024, indexMergeThreshold: 100, maxIndexRuns: 3, fanoutCacheBytes: 64, indexBloomBytes: bloomBytes };
    const chunks = Array.from({ length: 3000 }, () => rawChunk(randomBytes(200)));
    let s = await ChunkStore.open(dir, opts);
    for (let i = 0; i < chunks.length; i++) {
      await s.put(chunks[i]!);
      if (i % 500 === 499) await s.flush();
    }
    await s.flush();
    await s.compactIndex();
    expect(runFiles(dir).length).toBeGreaterThanOrEqual(1);
    expect(runFiles(dir).length).toBeLessThanOrEqual(4);
    expect(readdirSync(path.join(dir, 'index')).filter((n) => n.endsWith('.bloom'))).toHaveLength(runFiles(dir).length);
    expect(readdirSync(path.join(dir, 'index', 'pending')).length).toBeLessThan(20);
    expect(await countPresent(s, chunks.map((c) => c.hash))).toBe(3000);
    expect(await countPresent(s, Array.from({ length: 500 }, () => randomBytes(32)))).toBe(0);
    for (const c of chunks.slice(0, 300)) expect(await s.getRaw(c.hash)).toEqual(c.data);
    expect((await s.stats()).chunks).toBe(3000);
    // dedup still works against merged entries
    for (const c of chunks.slice(0, 100)) expect((await s.put(c)).stored).toBe(false);
    await s.close();

    s = await ChunkStore.open(dir, opts);
    expect((await s.stats()).chunks).toBe(3000);
    expect(await countPresent(s, chunks.map((c) => c.hash))).toBe(3000);
    await s.compactIndex(true);
    expect(runFiles(dir)).toHaveLength(1);
    expect(await countPresent(s, chunks.map((c) => c.hash))).toBe(3000);
    expect(await countPresent(s, Array.from({ length: 500 }, () => randomBytes(32)))).toBe(0);
    for (const c of chunks.slice(2700)) expect(await s.getRaw(c.hash)).toEqual(c.data);
    await s.close();
  });
});
