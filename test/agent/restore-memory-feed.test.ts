/**
 * The restore's chunk feed keeps per-chunk bookkeeping only for the chunks in
 * its request window, not for every chunk enqueued ahead: a very large file
 * (tens of thousands of chunks, enqueued by the planner at once) must not make
 * the feed's memory grow with its size. Checked on the feed's own Slot count
 * while a 100 000-chunk file goes through, with every chunk still handed out
 * in order and byte for byte.
 */
import { describe, expect, it } from 'vitest';
import { Compression, type Chunk } from '@strata/protocol';
import { ChunkFeed } from '../../agent/src/restore/feed.js';
import type { RestoreDownlink } from '../../agent/src/restore/index.js';
import { sha256 } from '../../agent/src/util/hash.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Chunk `i`'s bytes: small and distinct (the feed only knows the sizes the file's size implies). */
const dataOf = (i: number): Buffer => Buffer.from(`chunk ${i} of the large file\n`);

/** Slots the feed holds now (taken ones are nulled until the queue is compacted). */
const liveSlots = (feed: ChunkFeed): number => (feed as unknown as { queue: (object | null)[] }).queue.filter((s) => s !== null).length;

describe('restore chunk feed memory', () => {
  it('holds Slots for the request window only, however many chunks a file has', async () => {
    const N = 100_000;
    const byHash = new Map<string, Chunk>();
    const hashes: Buffer[] = [];
    for (let i = 0; i < N; i++) {
      const data = dataOf(i);
      const hash = sha256(data);
      hashes.push(hash);
      byHash.set(hash.toString('hex'), { hash, compression: Compression.None, rawSize: data.length, data });
    }
    const calls: number[] = [];
    const downlink: RestoreDownlink = {
      fetch: async (hs) => {
        calls.push(hs.length);
        await new Promise((r) => setImmediate(r));
        return hs.map((h) => byHash.get(h.toString('hex'))!);
      },
    };
    const limits = { batchBytes: 1 * MiB, batchChunks: 4096, batchesInFlight: 6, windowBytes: 6 * MiB };
    const feed = new ChunkFeed(downlink, limits);
    // 16 KiB per chunk expected (the bench's average): 1.5 GiB in all.
    feed.enqueue(hashes, 'large.img', N * 16 * KiB);
    // The window (6 MiB) and one batch being gathered (1 MiB) at 16 KiB each: 448 Slots.
    const bound = (limits.windowBytes + limits.batchBytes) / (16 * KiB);
    expect(liveSlots(feed)).toBeLessThanOrEqual(bound);
    expect(liveSlots(feed)).toBeGreaterThan(0);
    expect(feed.ahead).toBe(N * 16 * KiB);

    let most = 0;
    for (let i = 0; i < N; i++) {
      const b = await feed.take();
      if (!b.equals(dataOf(i))) throw new Error(`chunk ${i} differs`);
      if (i % 997 === 0) most = Math.max(most, liveSlots(feed));
    }
    expect(most).toBeLessThanOrEqual(bound);
    expect(feed.ahead).toBe(0);
    // Every chunk fetched once, in requests of the batch size (64 chunks of 16 KiB expected).
    expect(feed.fetched).toBe(N);
    expect(Math.max(...calls)).toBe(64);
    // take() hands out a ready chunk without a promise, so taking past the end throws at once.
    expect(() => feed.take()).toThrow(/beyond those enqueued/);
  });

  it('keeps files in order across many small enqueues and skips', async () => {
    const byHash = new Map<string, Chunk>();
    const files: Buffer[][] = [];
    let n = 0;
    for (let f = 0; f < 300; f++) {
      const hs: Buffer[] = [];
      for (let k = 0; k < 1 + (f % 7); k++) {
        const data = dataOf(n++);
        const hash = sha256(data);
        hs.push(hash);
        byHash.set(hash.toString('hex'), { hash, compression: Compression.None, rawSize: data.length, data });
      }
      files.push(hs);
    }
    const downlink: RestoreDownlink = { fetch: async (hs) => hs.map((h) => byHash.get(h.toString('hex'))!) };
    const feed = new ChunkFeed(downlink, { batchBytes: 64 * KiB, batchChunks: 4096, batchesInFlight: 2, windowBytes: 256 * KiB });
    for (const hs of files) feed.enqueue(hs, 'f', hs.length * 8 * KiB);
    feed.enqueue([], 'empty', 0);
    for (const [f, hs] of files.entries()) {
      if (f % 5 === 0) {
        feed.skip(hs.length);
        continue;
      }
      for (const h of hs) {
        const b = await feed.take();
        expect(sha256(b).equals(h)).toBe(true);
      }
    }
    expect(feed.ahead).toBe(0);
  });
});
