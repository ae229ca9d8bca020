/**
 * Data-path behaviour added for throughput and memory: restores made durable
 * by one syncfs at the end (with a per-file fsync fallback), compression
 * skipped for the rest of a file whose first chunks did not compress, and a
 * large backup whose memory stays bounded.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Compression } from '@strata/protocol';
import { InlineCompressor, type ChunkCompressor } from '../../agent/src/util/zstd.js';
import { randomBytesSeeded } from '../helpers/fixture.js';
import { FakeStore } from './fake-store.js';
import { MiB, backup, restore, workDir } from './harness.js';

/** Counts the chunks given to the compressor. */
class CountingCompressor implements ChunkCompressor {
  offered = 0;
  private readonly inner = new InlineCompressor();
  async compress(raws: Buffer[]) {
    this.offered += raws.length;
    return this.inner.compress(raws);
  }
  async close() {}
}

describe('agent data path', () => {
  let work: ReturnType<typeof workDir>;
  let src: string;
  const store = new FakeStore();
  let root: Buffer[];

  beforeAll(async () => {
    work = workDir('datapath');
    src = path.join(work.dir, 'src');
    fs.mkdirSync(path.join(src, 'a', 'b'), { recursive: true });
    fs.writeFileSync(path.join(src, 'random.bin'), randomBytesSeeded('dp-random', 8 * MiB));
    fs.writeFileSync(path.join(src, 'a', 'text.txt'), 'the quick brown fox jumps over the lazy dog\n'.repeat(40_000));
    for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(src, 'a', 'b', `small-${i}`), `file ${i}\n`.repeat(i * 10));
    root = (await backup(store, [src], path.join(work.dir, 'cache'))).result.root;
  });
  afterAll(() => work.cleanup());

  it('syncs the file system once, after every file is complete, before returning', async () => {
    const target = path.join(work.dir, 'restore-syncfs');
    const calls: { dir: string; complete: boolean }[] = [];
    const syncFs = async (dir: Buffer) => {
      const restored = path.join(target, src);
      const complete = fs.existsSync(restored)
        && fs.statSync(path.join(restored, 'random.bin')).size === 8 * MiB
        && fs.readdirSync(path.join(restored, 'a', 'b')).length === 50;
      calls.push({ dir: dir.toString(), complete });
    };
    const r = await restore(store, root, target, { tuning: { syncFs } });
    expect(r.files).toBe(52);
    // The probe on the (empty) target at the start, then the real sync at the end.
    expect(calls.map((c) => c.dir)).toEqual([target, target]);
    expect(calls[1]!.complete).toBe(true);
    expect(fs.readFileSync(path.join(target, src, 'random.bin')).equals(fs.readFileSync(path.join(src, 'random.bin')))).toBe(true);
  });

  it('falls back to fsync per file when syncfs is unavailable, and restores the same', async () => {
    const target = path.join(work.dir, 'restore-fsync');
    let calls = 0;
    const r = await restore(store, root, target, { tuning: { syncFs: async () => { calls++; throw new Error('sync: unrecognized option -f'); } } });
    expect(calls).toBe(1); // probed once, never again
    expect(r.files).toBe(52);
    expect(fs.readFileSync(path.join(target, src, 'a', 'text.txt'), 'utf8')).toBe(fs.readFileSync(path.join(src, 'a', 'text.txt'), 'utf8'));
  });

  it('a failing sync at the end fails the restore', async () => {
    const target = path.join(work.dir, 'restore-eio');
    let calls = 0;
    const syncFs = async () => { if (calls++ > 0) throw new Error('EIO'); };
    await expect(restore(store, root, target, { tuning: { syncFs } })).rejects.toThrow(/could not be made durable: EIO/);
  });

  it('stops compressing a file whose first chunks do not compress; text still compresses', async () => {
    const fresh = new FakeStore();
    const compressor = new CountingCompressor();
    // Small batches, so that the outcome of a file's first chunks is known before most of it is queued.
    await backup(fresh, [src], path.join(work.dir, 'cache-hint'), { tuning: { compressor, batchBytes: 128 * 1024, batchesInFlight: 1 } });
    const randomChunks = fresh.sent.filter((c) => c.rawSize > 1000 && c.compression === Compression.None).length;
    expect(randomChunks).toBeGreaterThan(400); // 8 MiB of ~16 KiB chunks, all raw
    expect(compressor.offered).toBeLessThan(randomChunks / 4);
    const text = fresh.sent.filter((c) => c.compression === Compression.Zstd);
    expect(text.length).toBeGreaterThan(50); // the text file, the small files and the trees
  });
});
