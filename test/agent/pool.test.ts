/**
 * The read-block pool: every block goes back to the pool after a backup, and
 * a backup with a tiny pool (two blocks of the largest chunk size, so most
 * chunks that span reads are copies; readers and the uploader compete) still
 * completes and restores exactly, with a plain uplink and with one that keeps
 * chunk data by reference in a batch until it is flushed (as LinkUplink does).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Chunk } from '@strata/protocol';
import type { BackupUplink } from '../../agent/src/backup/index.js';
import { runBackup } from '../../agent/src/backup/index.js';
import { BlockPool } from '../../agent/src/util/pool.js';
import { InlineCompressor } from '../../agent/src/util/zstd.js';
import { buildTree } from '../helpers/fixture.js';
import { compareTrees } from '../helpers/tree.js';
import { FakeStore } from './fake-store.js';
import { MiB, restore, workDir } from './harness.js';

/** Keeps sent chunks by reference (with their release callbacks) until 256 KiB are batched or flush() is called. */
function holdingUplink(store: FakeStore): BackupUplink & { held: number } {
  const inner = store.uplink();
  let batch: { chunk: Chunk; release?: () => void }[] = [];
  let bytes = 0;
  const up = {
    held: 0,
    releasesData: true,
    query: inner.query,
    async send(chunk: Chunk, release?: () => void) {
      batch.push({ chunk, release });
      bytes += chunk.data.length;
      up.held = batch.length;
      if (bytes >= 256 * 1024) await up.flush();
    },
    async flush() {
      const b = batch;
      batch = [];
      bytes = 0;
      up.held = 0;
      await Promise.resolve(); // the bytes must still be intact after an await
      for (const { chunk, release } of b) {
        await inner.send(chunk); // checks the hash of the (raw or decompressed) bytes
        release?.();
      }
    },
  };
  return up;
}

describe('read-block pool', () => {
  let work: ReturnType<typeof workDir>;
  let src: string;
  const cmd = (jobId: string, paths: string[]) => ({ jobId, dataSourceId: 'ds', paths, includes: [], excludes: [], parentPointId: '' });

  beforeAll(() => {
    work = workDir('pool');
    src = path.join(work.dir, 'src');
    buildTree(src, { largeFiles: 2, largeSize: 3 * MiB, smallFiles: 60, seed: 'pool' });
    fs.writeFileSync(path.join(src, 'text'), 'a line of text that compresses\n'.repeat(40_000));
  });
  afterAll(() => work.cleanup());

  it('returns every block to the pool after a backup', async () => {
    const store = new FakeStore();
    const pool = new BlockPool(1024 * 1024, 20);
    const r = await runBackup({ cmd: cmd('a', [src]), cacheDir: path.join(work.dir, 'cache-a'), uplink: store.uplink(), tuning: { pool } });
    expect(r.files).toBeGreaterThan(60);
    expect(pool.available).toBe(pool.count);
  });

  for (const kind of ['plain', 'holding'] as const) {
    it(`completes with a tiny pool and restores exactly (${kind} uplink)`, async () => {
      const store = new FakeStore();
      const pool = new BlockPool(64 * 1024, 2);
      const up = kind === 'plain' ? store.uplink() : holdingUplink(store);
      const r = await runBackup({
        cmd: cmd(`t-${kind}`, [src]), cacheDir: path.join(work.dir, `cache-${kind}`), uplink: up,
        tuning: { pool, compressor: new InlineCompressor(), batchBytes: 128 * 1024 },
      });
      await up.flush?.();
      expect(pool.available).toBe(pool.count);
      const dst = path.join(work.dir, `restored-${kind}`);
      await restore(store, r.root, dst);
      expect(await compareTrees(src, path.join(dst, src))).toEqual([]);
    }, 60_000);
  }
});
