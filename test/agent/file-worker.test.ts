import { createHash, randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Chunker, chunkBuffer } from '../../agent/src/chunker/index.js';
import { FileWorker } from '../../agent/src/backup/file-worker.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Pushes `data` in blocks of `step` bytes through a worker stream and a Chunker.pushCuts; returns chunks and hashes. */
async function viaWorker(hasher: FileWorker, data: Buffer, step: (i: number) => number, shared: boolean) {
  const s = hasher.open();
  const c = new Chunker();
  const chunks: Buffer[] = [];
  const digests: string[] = [];
  for (let o = 0, i = 0; o < data.length; i++) {
    const n = Math.min(step(i), data.length - o);
    // Shared blocks are read in place by the worker; others are copied.
    const block = shared ? Buffer.from(new SharedArrayBuffer(n)) : Buffer.alloc(n);
    data.copy(block, 0, o, o + n);
    o += n;
    const cuts = await s.push(block);
    // Every other block, a joined chunk goes into memory the caller gives (as the backup's pool regions).
    const cs = c.pushCuts(block, cuts.ends, i % 2 ? (n) => Buffer.from(new SharedArrayBuffer(n)) : undefined);
    expect(cs.length).toBe(cuts.hashes.length / 32);
    chunks.push(...cs);
    for (let k = 0; k < cs.length; k++) digests.push(cuts.hashes.subarray(32 * k, 32 * k + 32).toString('hex'));
  }
  const last = await s.finish();
  const tail = c.finish();
  expect(tail.length).toBe(last ? 1 : 0);
  if (last) {
    chunks.push(tail[0]!);
    digests.push(last.toString('hex'));
  }
  return { chunks, digests };
}

describe('file worker', () => {
  const hasher = new FileWorker();
  afterAll(() => hasher.close());

  it('cuts and hashes exactly like the Chunker, whatever the blocks', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 12345);
    const whole = chunkBuffer(data);
    const want = whole.map(sha);
    for (const [step, shared] of [[() => 1 << 20, true], [() => 65537, false], [() => 4095, true], [() => 977, true], [() => Math.floor(Math.random() * 200_000) + 1, true]] as const) {
      const got = await viaWorker(hasher, data, step, shared);
      expect(got.digests).toEqual(want);
      expect(got.chunks.map(sha)).toEqual(want);
      expect(got.chunks.map((c) => c.length)).toEqual(whole.map((c) => c.length));
    }
  });

  it('handles streams side by side, zero runs and empty streams', async () => {
    const a = Buffer.concat([randomBytes(300_000), Buffer.alloc(500_000), randomBytes(70_000)]);
    const b = randomBytes(200_000);
    const [ra, rb] = await Promise.all([viaWorker(hasher, a, () => 100_000, true), viaWorker(hasher, b, () => 30_000, true)]);
    expect(ra.digests).toEqual(chunkBuffer(a).map(sha));
    expect(rb.digests).toEqual(chunkBuffer(b).map(sha));
    expect(await hasher.open().finish()).toBeNull();
  });
});
