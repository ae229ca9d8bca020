import { randomBytes } from 'node:crypto';
import { appendFileSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ChunkCorruptError, ChunkStore, StoreDiskFullError, toStoreError, type ChunkIn,
} from '../../server/src/chunk-store/index.js';
import { rawChunk, tempDir, textBytes, zstdChunk, fillingDisk } from './helpers.js';

function packFiles(dir: string): string[] {
  const out: string[] = [];
  for (const sub of readdirSync(path.join(dir, 'packs'))) {
    for (const f of readdirSync(path.join(dir, 'packs', sub))) if (f.endsWith('.pack')) out.push(path.join(dir, 'packs', sub, f));
  }
  return out.sort();
}

async function fill(dir: string, chunks: ChunkIn[], opts = {}): Promise<void> {
  const s = await ChunkStore.open(dir, opts);
  for (const c of chunks) await s.put(c);
  await s.flush();
  await s.close();
}

describe('damaged and torn stores', () => {
  it('opens with a torn pack tail (crash mid-write) and reads everything flushed before it', async () => {
    const dir = tempDir();
    const chunks = Array.from({ length: 20 }, () => rawChunk(randomBytes(3000)));
    await fill(dir, chunks);
    const [pack] = packFiles(dir);
    // a crash while appending: half a record after the last flushed one
    const whole = readFileSync(pack!);
    appendFileSync(pack!, whole.subarray(32, 32 + 1500));
    const s = await ChunkStore.open(dir);
    for (const c of chunks) expect(await s.getRaw(c.hash)).toEqual(c.data);
    expect((await s.stats()).chunks).toBe(20);
    const rebuilt = await s.rebuildIndex();
    expect(rebuilt.chunks).toBe(20);
    expect(rebuilt.tornPacks).toHaveLength(1);
    expect(rebuilt.tornPacks[0]!.reason).toMatch(/truncated/);
    for (const c of chunks) expect(await s.getRaw(c.hash)).toEqual(c.data);
    // new chunks go to a new pack and survive
    const more = rawChunk(randomBytes(500));
    await s.put(more);
    await s.flush();
    await s.close();
    const s2 = await ChunkStore.open(dir);
    expect(await s2.getRaw(more.hash)).toEqual(more.data);
    expect(await s2.getRaw(chunks[0]!.hash)).toEqual(chunks[0]!.data);
    await s2.close();
  });

  it('a pack truncated mid-record: earlier chunks read, the cut one is reported corrupt', async () => {
    const dir = tempDir();
    const chunks = Array.from({ length: 10 }, () => rawChunk(randomBytes(2000)));
    await fill(dir, chunks);
    const [pack] = packFiles(dir);
    truncateSync(pack!, statSync(pack!).size - 1000);
    const s = await ChunkStore.open(dir);
    for (const c of chunks.slice(0, 9)) expect(await s.getRaw(c.hash)).toEqual(c.data);
    const err = await s.getRaw(chunks[9]!.hash).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChunkCorruptError);
    expect((err as Error).message).toMatch(/truncated/);
    const v = await s.verify();
    expect(v.checked).toBe(10);
    expect(v.damaged.map((d) => d.hash)).toEqual([chunks[9]!.hash.toString('hex')]);
    await s.close();
  });

  it('a flipped byte makes reads fail with ChunkCorruptError and verify reports exactly that chunk', async () => {
    const dir = tempDir();
    const chunks = Array.from({ length: 30 }, (_, i) => (i % 2 ? zstdChunk(textBytes(i, 8000)) : rawChunk(randomBytes(4000))));
    await fill(dir, chunks);
    const [pack] = packFiles(dir);
    const bytes = readFileSync(pack!);
    const victim = chunks[6]!; // raw, 4000 bytes
    const at = bytes.indexOf(victim.hash) + 32 + 12 + 100; // inside its data
    bytes[at] = bytes[at]! ^ 0x40;
    writeFileSync(pack!, bytes);

    const s = await ChunkStore.open(dir);
    const err = await s.getRaw(victim.hash).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChunkCorruptError);
    const ce = err as ChunkCorruptError;
    expect(ce.code).toBe('CHUNK_CORRUPT');
    expect(ce.kind).toBe('permanent');
    expect(ce.message).toContain(victim.hash.toString('hex'));
    expect(ce.message).toContain(path.basename(pack!));
    expect(ce.message).toContain(dir);
    await expect(s.getStored(victim.hash)).rejects.toBeInstanceOf(ChunkCorruptError);
    expect(await s.getRaw(chunks[8]!.hash)).toEqual(chunks[8]!.data);
    expect(await s.getRaw(chunks[9]!.hash)).toEqual(textBytes(9, 8000));

    const progress: number[] = [];
    const all = await s.verify(undefined, (p) => progress.push(p.checked));
    expect(all.checked).toBe(30);
    expect(all.damaged).toHaveLength(1);
    expect(all.damaged[0]!.hash).toBe(victim.hash.toString('hex'));
    expect(all.damaged[0]!.pack).toContain(path.basename(pack!));
    expect(all.damaged[0]!.reason).toMatch(/checksum/);
    expect(progress.at(-1)).toBe(30);

    const some = await s.verify([chunks[1]!.hash, victim.hash, Buffer.alloc(32, 9)]);
    expect(some.checked).toBe(3);
    expect(some.damaged).toHaveLength(2);
    expect(some.damaged).toEqual(expect.arrayContaining([
      expect.objectContaining({ hash: victim.hash.toString('hex'), reason: expect.stringMatching(/checksum/) }),
      expect.objectContaining({ hash: Buffer.alloc(32, 9).toString('hex'), reason: expect.stringMatching(/missing/) }),
    ]));
    await s.close();
  });

  it('rebuilds the index from packs alone after the index files are deleted', async () => {
    const dir = tempDir();
    const chunks = Array.from({ length: 300 }, (_, i) => (i % 2 ? zstdChunk(textBytes(i, 3000)) : rawChunk(randomBytes(1500))));
    await fill(dir, chunks, { packTargetSize: 20 * 1024, indexMergeThreshold: 40 });
    const s0 = await ChunkStore.open(dir);
    const stats = await s0.stats();
    await s0.close();
    rmSync(path.join(dir, 'index'), { recursive: true });

    const s = await ChunkStore.open(dir); // notices the missing index and rebuilds
    expect((await s.stats()).chunks).toBe(300);
    expect((await s.stats()).packs).toBe(stats.packs);
    for (const c of chunks) expect(await s.getStored(c.hash)).toEqual(c);
    await s.close();

    rmSync(path.join(dir, 'index'), { recursive: true });
    writeFileSync(path.join(dir, 'index.keep'), ''); // unrelated file is ignored
    const r = await ChunkStore.rebuildIndex(dir);
    expect(r).toEqual({ packs: stats.packs, chunks: 300, tornPacks: [] });
    const s2 = await ChunkStore.open(dir);
    for (const c of chunks) expect(await s2.has(c.hash)).toBe(true);
    await s2.close();
  });

  it('recovers a damaged pending pack index by scanning its pack', async () => {
    const dir = tempDir();
    const chunks = Array.from({ length: 12 }, () => rawChunk(randomBytes(1000)));
    await fill(dir, chunks);
    const pendingDir = path.join(dir, 'index', 'pending');
    const [pidx] = readdirSync(pendingDir);
    const file = path.join(pendingDir, pidx!);
    const b = readFileSync(file);
    b[b.length - 5] = b[b.length - 5]! ^ 1;
    writeFileSync(file, b);
    const s = await ChunkStore.open(dir);
    for (const c of chunks) expect(await s.getRaw(c.hash)).toEqual(c.data);
    await s.close();
  });

  it('maps ENOSPC to StoreDiskFullError, loses nothing acknowledged, and recovers once space is back', async () => {
    const dir = tempDir();
    const disk = fillingDisk();
    const s = await ChunkStore.open(dir, { writeBufferSize: 8 * 1024, packWrite: disk.packWrite });
    const before = Array.from({ length: 5 }, () => rawChunk(randomBytes(3000)));
    for (const c of before) await s.put(c);
    await s.flush();

    disk.full = true;
    const during = Array.from({ length: 20 }, () => rawChunk(randomBytes(3000)));
    const accepted: ChunkIn[] = [];
    let putError: unknown;
    for (const c of during) {
      try {
        await s.put(c);
        accepted.push(c);
      } catch (err) {
        putError = err;
        break;
      }
    }
    const flushError = await s.flush().catch((e: unknown) => e);
    expect(flushError).toBeInstanceOf(StoreDiskFullError);
    expect((flushError as StoreDiskFullError).code).toBe('STORE_DISK_FULL');
    expect((flushError as Error).message).toContain(dir);
    expect(putError).toBeInstanceOf(StoreDiskFullError); // puts fail fast once a write failed
    for (const c of before) expect(await s.getRaw(c.hash)).toEqual(c.data);

    disk.full = false;
    // the next backup's puts work again without anyone flushing first
    const after = rawChunk(randomBytes(3000));
    expect((await s.put(after)).stored).toBe(true);
    await s.flush();
    await s.close();
    const s2 = await ChunkStore.open(dir);
    for (const c of [...before, ...accepted, after]) expect(await s2.getRaw(c.hash)).toEqual(c.data);
    await s2.close();
  });

  it('maps raw fs errors to typed store errors', () => {
    const nospc = toStoreError(Object.assign(new Error('x'), { code: 'ENOSPC' }), '/d', 'writing');
    expect(nospc).toBeInstanceOf(StoreDiskFullError);
    expect((nospc as StoreDiskFullError).kind).toBe('transient');
    expect((toStoreError(Object.assign(new Error('x'), { code: 'EIO' }), '/d', 'reading') as unknown as { code: string }).code).toBe('STORE_IO');
    const plain = new Error('plain');
    expect(toStoreError(plain, '/d', 'x')).toBe(plain);
  });
});
