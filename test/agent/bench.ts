/**
 * Data-path throughput (not a test; run with `npx tsx test/agent/bench.ts`):
 *  1. chunker alone, chunker + SHA-256, chunker + SHA-256 + zstd (inline and
 *     in the worker pool) on a 256 MiB random buffer;
 *  2. runBackup of files in the page cache with a null uplink (every chunk
 *     missing, sends free), random and text data: the agent's own ceiling.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { chunkBuffer } from '../../agent/src/chunker/index.js';
import { runBackup, type BackupUplink } from '../../agent/src/backup/index.js';
import { sha256 } from '../../agent/src/util/hash.js';
import { InlineCompressor, WorkerCompressor, type ChunkCompressor } from '../../agent/src/util/zstd.js';

const MB = 1e6;
const rate = (bytes: number, ms: number) => `${(bytes / MB / (ms / 1000)).toFixed(0)} MB/s`;

async function pipeline(buf: Buffer, compressor: ChunkCompressor | null): Promise<number> {
  const t = performance.now();
  let batch: Buffer[] = [];
  const pending: Promise<unknown>[] = [];
  for (const c of chunkBuffer(buf)) {
    sha256(c);
    if (!compressor) continue;
    batch.push(c);
    if (batch.length === 512) {
      pending.push(compressor.compress(batch));
      batch = [];
      if (pending.length > 3) await pending.shift();
    }
  }
  if (compressor && batch.length) pending.push(compressor.compress(batch));
  await Promise.all(pending);
  return performance.now() - t;
}

function textData(n: number): Buffer {
  const words = 'the quick brown fox jumps over lazy dogs backup restore chunk agent vault policy point store index tree'.split(' ');
  const parts: string[] = [];
  let len = 0;
  const r = randomBytes(n / 4);
  for (let i = 0; len < n; i++) { const w = words[r[i % r.length]! % words.length]! + (i % 13 ? ' ' : '\n'); parts.push(w); len += w.length; }
  return Buffer.from(parts.join('')).subarray(0, n);
}

async function main() {
  const size = 256 * 1024 * 1024;
  const rnd = randomBytes(size);
  const txt = textData(size);
  for (const [name, data] of [['random', rnd], ['text', txt]] as const) {
    for (let round = 0; round < 2; round++) {
      let t = performance.now();
      chunkBuffer(data);
      const tChunk = performance.now() - t;
      const tHash = await pipeline(data, null);
      const inline = new InlineCompressor();
      const tInline = await pipeline(data, inline);
      const pool = new WorkerCompressor();
      t = performance.now();
      const tPool = await pipeline(data, pool);
      await pool.close();
      console.log(`${name} 256 MiB: chunk ${rate(size, tChunk)} | chunk+sha256 ${rate(size, tHash)} | +zstd inline ${rate(size, tInline)} | +zstd worker ${rate(size, tPool)}`);
    }
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-'));
  try {
    for (const [name, data] of [['random', rnd], ['text', txt]] as const) {
      const src = path.join(dir, name);
      fs.mkdirSync(src);
      // 1 GiB in four distinct files (so nothing deduplicates), in the page cache
      for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(src, `f${i}`), i === 0 ? data : name === 'random' ? randomBytes(size) : textData(size));
      let sent = 0;
      const uplink: BackupUplink = {
        query: async (h) => h.map(() => false),
        send: async (c) => { sent += c.data.length; },
      };
      const t = performance.now();
      const r = await runBackup({ cmd: { jobId: 'b', dataSourceId: 'd', paths: [src], includes: [], excludes: [], parentPointId: '' }, cacheDir: path.join(dir, `cache-${name}`), uplink });
      const ms = performance.now() - t;
      console.log(`runBackup ${name} 1 GiB (${os.availableParallelism()} cores, null uplink): ${rate(r.bytes, ms)}, sent ${(sent / r.bytes * 100).toFixed(1)}% of the bytes, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
      fs.rmSync(src, { recursive: true });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
