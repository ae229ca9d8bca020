/**
 * Memory bounds of the backup path that must not grow with the dataset:
 * a folder's entries are kept encoded (walker.ts, TreeBuilder), the previous
 * point's Tree is read entry by entry (PrevEntries), and the seen-chunk set is
 * a fixed table (uploader.ts, HashTable). The growth test backs up a folder of
 * files of repeated bytes (many chunks, three distinct) at two sizes and compares
 * the heap growth during each run; with one hash object per chunk kept for the
 * whole folder (before), 4× the chunks grew the heap by ~4 MiB more.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EntryType, encodeTree, decodeTree, type Entry } from '@strata/protocol';
import { runBackup, type BackupUplink } from '../../agent/src/backup/index.js';
import { HashTable, PackedHashes } from '../../agent/src/backup/uploader.js';
import { PrevEntries, TreeBuilder } from '../../agent/src/backup/walker.js';
import { InlineCompressor } from '../../agent/src/util/zstd.js';
import { GuardPolicy, getGc } from '../../agent/src/util/memory.js';
import { sha256 } from '../../agent/src/util/hash.js';
import { MiB, at, workDir } from './harness.js';

const h = (s: string) => sha256(Buffer.from(s));

function entry(name: string, chunks: number, size = 0): Entry {
  return {
    name: Buffer.from(name), type: EntryType.File, mode: 0o644, uid: 1, gid: 2, mtimeSec: 1_700_000_000, mtimeNsec: 5, size, linkTarget: Buffer.alloc(0),
    chunks: Array.from({ length: chunks }, (_, i) => h(`${name}/${i}`)), ctimeSec: 1_700_000_001, ctimeNsec: 6, inode: 42,
  } as Entry;
}

describe('HashTable (the uploader\'s seen chunks)', () => {
  it('finds what was added, never a hash that differs in any byte, and refuses past its limit', () => {
    const t = new HashTable(100);
    const base = h('x');
    expect(t.add(base)).toBe(true);
    expect(t.has(base)).toBe(true);
    for (let byte = 0; byte < 32; byte++) {
      const other = Buffer.from(base);
      other[byte]! ^= 1;
      expect(t.has(other)).toBe(false);
    }
    for (let i = 1; i < 100; i++) expect(t.add(h(`k${i}`))).toBe(true);
    expect(t.size).toBe(100);
    expect(t.add(h('one more'))).toBe(false);
    expect(t.has(h('one more'))).toBe(false);
    expect(t.add(h('k7'))).toBe(true); // already there: still true, nothing added
    expect(t.size).toBe(100);
    for (let i = 1; i < 100; i++) expect(t.has(h(`k${i}`))).toBe(true);
    t.clear();
    expect(t.size).toBe(0);
    expect(t.has(base)).toBe(false);
    // Fixed memory: 4/3 of the limit rounded up to a power of two, 33 bytes per slot.
    expect(new HashTable(49_152).bytes).toBe(65_536 * 33);
  });

  it('keeps hashes whose first words collide apart (linear probing)', () => {
    const t = new HashTable(64);
    const a = Buffer.alloc(32, 7);
    const b = Buffer.alloc(32, 7);
    b[31] = 8;
    t.add(a);
    expect(t.has(b)).toBe(false);
    t.add(b);
    expect(t.has(a) && t.has(b)).toBe(true);
    expect(t.size).toBe(2);
  });
});

describe('PackedHashes (a large file\'s chunk hashes while it is read)', () => {
  it('gives back every hash in order, as views of one buffer', () => {
    const p = new PackedHashes();
    const hs = Array.from({ length: 1000 }, (_, i) => h(`c${i}`));
    for (const x of hs) p.push(x);
    hs[0]!.fill(0); // copied in, not kept
    const v = p.views();
    expect(v.length).toBe(1000);
    expect(v[0]).toEqual(h('c0'));
    for (let i = 1; i < 1000; i++) expect(v[i]).toEqual(hs[i]);
    expect(new Set(v.map((b) => b.buffer)).size).toBe(1);
    expect(() => p.push(Buffer.alloc(31))).toThrow(RangeError);
  });
});

describe('TreeBuilder and PrevEntries (a folder\'s Tree kept encoded)', () => {
  const entries = ['a', 'b.txt', 'c', 'dir', 'z\xff'].map((n, i) => entry(n, i * 3, i * 1000));
  entries[3]!.type = EntryType.Dir;
  entries[2]!.name = Buffer.alloc(0); // an empty name is not written (proto3): must still be found in order

  it('joined one-entry encodings are the whole Tree\'s encoding, in order, whatever order entries finish in', async () => {
    const sorted = [entries[2]!, ...entries.filter((_, i) => i !== 2)];
    const b = new TreeBuilder();
    const resolvers: ((e: Entry | null) => void)[] = [];
    for (let i = 0; i < sorted.length + 1; i++) b.add(new Promise((r) => resolvers.push(r)));
    // Finish in reverse; one left out (null).
    resolvers[sorted.length]!(null);
    for (let i = sorted.length - 1; i >= 0; i--) resolvers[i]!(sorted[i]!);
    const bytes = await b.finish();
    expect(Buffer.compare(bytes, Buffer.from(encodeTree({ entries: sorted })))).toBe(0);
    expect(b.size).toBe(sorted.filter((e) => e.type === EntryType.File || e.type === EntryType.Dir).reduce((a, e) => a + e.size, 0));
  });

  it('a failed entry fails the folder', async () => {
    const b = new TreeBuilder();
    b.add(Promise.resolve(entries[0]!));
    b.add(Promise.reject(new Error('read failed')));
    await expect(b.finish()).rejects.toThrow('read failed');
  });

  it('looks entries up in name order, decoding only those asked for', () => {
    const sorted = [entries[2]!, ...entries.filter((_, i) => i !== 2)];
    const bytes = Buffer.from(encodeTree({ entries: sorted }));
    const all = decodeTree(bytes).entries;
    const p = new PrevEntries(bytes, null, new Set());
    expect(p.find(Buffer.alloc(0))).toEqual(all[0]);
    expect(p.find(Buffer.from('a'))).toEqual(all[1]);
    expect(p.find(Buffer.from('b'))).toBeUndefined(); // not there; the cursor stays before b.txt
    expect(p.find(Buffer.from('b.txt'))).toEqual(all[2]);
    expect(p.find(Buffer.from('z\xff'))).toEqual(all[4]); // 'dir' skipped over
    expect(p.find(Buffer.from('zz'))).toBeUndefined();
  });

  it('finds every entry across windows (many entries; entries larger than a window)', async () => {
    const many = Array.from({ length: 1500 }, (_, i) => entry(`n${String(i).padStart(5, '0')}`, i % 300 === 7 ? 3000 : 1, i));
    const b = new TreeBuilder();
    for (const e of many) b.add(Promise.resolve(e));
    const bytes = await b.finish();
    expect(Buffer.compare(bytes, Buffer.from(encodeTree({ entries: many })))).toBe(0);
    const all = decodeTree(bytes).entries;
    const p = new PrevEntries(bytes, null, new Set());
    for (let i = 0; i < many.length; i += 1 + (i % 3)) {
      expect(p.find(Buffer.from(`n${String(i).padStart(5, '0')}`))).toEqual(all[i]);
      expect(p.find(Buffer.from(`n${String(i).padStart(5, '0')}a`))).toBeUndefined(); // between two names
    }
  });

  it('a Tree out of name order or damaged only loses reuse, never gives a wrong entry', () => {
    const unsorted = Buffer.from(encodeTree({ entries: [entries[4]!, entries[0]!] }));
    const p = new PrevEntries(unsorted, null, new Set());
    expect(p.find(Buffer.from('a'))).toBeUndefined();
    expect(p.find(Buffer.from('z\xff'))?.name).toEqual(Buffer.from('z\xff'));
    const damaged = Buffer.from(encodeTree({ entries: [entries[0]!, entries[1]!] }));
    damaged[1] = 0xff; // the first entry's length runs past the end
    expect(new PrevEntries(damaged, null, new Set()).find(Buffer.from('a'))).toBeUndefined();
  });
});

describe('backup memory does not grow with the chunks of a folder', () => {
  let w: ReturnType<typeof workDir>;
  beforeAll(() => { w = workDir('memory'); });
  afterAll(() => w.cleanup());

  /**
   * 4 KiB of random bytes repeated: content-defined cuts then fall every 8 KiB
   * (the same bytes give the same cut), so a file has 128 chunks per MiB but
   * only three distinct ones — many hashes for little reading and sending.
   */
  const period = Buffer.concat(Array.from({ length: 128 }, (_, i) => sha256(Buffer.from(`3/${i}`))));
  const fileData = Buffer.concat(Array(1024).fill(period)); // 4 MiB

  /** Heap growth (MiB, after full collections) while backing up `files` files of 4 MiB (~516 chunks each) in one folder. */
  async function heapGrowth(files: number): Promise<number> {
    const gc = getGc();
    if (!gc) throw new Error('no gc() in this runtime');
    const dir = at(w.dir, `src-${files}`);
    fs.mkdirSync(dir);
    for (let i = 0; i < files; i++) fs.writeFileSync(at(dir, `f${String(i).padStart(3, '0')}`), fileData);
    const uplink: BackupUplink = { query: async (hs) => hs.map(() => false), send: async () => {} };
    gc();
    const base = process.memoryUsage().heapUsed;
    let peak = base;
    const sample = () => {
      gc();
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    };
    const r = await runBackup({
      cmd: { jobId: 'j', dataSourceId: 'ds', paths: [dir], includes: [], excludes: [], parentPointId: '' },
      cacheDir: at(w.dir, `cache-${files}`), uplink, onProgress: sample,
      tuning: { compressor: new InlineCompressor(), fileWorker: false },
    });
    expect(r.files).toBe(files);
    fs.rmSync(dir, { recursive: true });
    return (peak - base) / MiB;
  }

  it('4× the chunks in one folder: the heap grows by under 1.5 MiB more', async () => {
    const small = await heapGrowth(8);
    const large = await heapGrowth(32);
    console.log(`heap growth: 8 files ${small.toFixed(2)} MiB, 32 files ${large.toFixed(2)} MiB`);
    // Before: each of the ~12 400 more chunk hashes stayed a Buffer (~300 bytes) until the folder ended: ~3.5 MiB more.
    expect(large - small).toBeLessThan(1.5);
  }, 30_000); // two backups of 40 MiB and more: 3-5 s on a slow VM, past vitest's default 5 s under load
});

describe('GuardPolicy (when the memory guard collects)', () => {
  const o = { softLimit: 100 * MiB, sampleMs: 50, minGapMs: 200, maxGapMs: 1000, bufferGrowth: 16 * MiB };

  it('never below the soft limit, at most every minGapMs above it, backing off while collections free little', () => {
    const p = new GuardPolicy(o);
    const ab = () => 10 * MiB;
    expect(p.due(0, 99 * MiB, ab)).toBe(false);
    expect(p.due(0, 101 * MiB, ab)).toBe(true);
    p.collected(0, 0, 10 * MiB); // freed nothing: the gap doubles to 400 ms
    expect(p.due(199, 120 * MiB, ab)).toBe(false);
    expect(p.due(399, 120 * MiB, ab)).toBe(false);
    expect(p.due(400, 120 * MiB, ab)).toBe(true);
    p.collected(400, 0, 10 * MiB); // 800 ms
    p.collected(1200, 0, 10 * MiB); // 1000 ms (the most)
    expect(p.due(2100, 120 * MiB, ab)).toBe(false);
    expect(p.due(2200, 120 * MiB, ab)).toBe(true);
    p.collected(2200, 8 * MiB, 10 * MiB); // freed a lot: back to minGapMs
    expect(p.due(2400, 120 * MiB, ab)).toBe(true);
  });

  it('while backing off, collects as soon as ArrayBuffers grew by bufferGrowth since the last collection', () => {
    const p = new GuardPolicy(o);
    let bufs = 40 * MiB;
    const ab = () => bufs;
    expect(p.due(0, 120 * MiB, ab)).toBe(true);
    p.collected(0, 0, 40 * MiB);
    p.collected(400, 0, 40 * MiB); // gap 800 ms
    bufs = 50 * MiB;
    expect(p.due(600, 120 * MiB, ab)).toBe(false); // 10 MiB more: wait
    bufs = 30 * MiB; // V8 freed some on its own: growth counts from here
    expect(p.due(650, 120 * MiB, ab)).toBe(false);
    bufs = 45 * MiB;
    expect(p.due(700, 120 * MiB, ab)).toBe(false); // 15 MiB above the lowest
    bufs = 46 * MiB;
    expect(p.due(750, 120 * MiB, ab)).toBe(true);
    expect(p.due(550, 120 * MiB, ab)).toBe(false); // still never within minGapMs of the last
  });
});
