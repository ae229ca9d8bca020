import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChunkStore, GcRunningError, RefListNotFoundError, type ChunkIn } from '../../server/src/chunk-store/index.js';
import { rawChunk, tempDir } from './helpers.js';

async function filled(n: number, opts = { packTargetSize: 16 * 1024 }): Promise<{ s: ChunkStore; dir: string; chunks: ChunkIn[] }> {
  const dir = tempDir();
  const s = await ChunkStore.open(dir, opts);
  const chunks = Array.from({ length: n }, () => rawChunk(randomBytes(700)));
  for (const c of chunks) await s.put(c);
  await s.flush();
  return { s, dir, chunks };
}

async function present(s: ChunkStore, cs: ChunkIn[]): Promise<number> {
  let n = 0;
  for (const c of cs) if (await s.has(c.hash)) n++;
  return n;
}

describe('garbage collection', () => {
  it('removes exactly the unreferenced chunks and keeps the referenced ones readable', async () => {
    const { s, dir, chunks } = await filled(400);
    await s.refs.write('p1', chunks.slice(0, 150).map((c) => c.hash));
    await s.refs.write('p2', chunks.slice(100, 250).map((c) => c.hash));
    await s.refs.write('expired', chunks.slice(250).map((c) => c.hash));
    const packsBefore = (await s.stats()).packs;
    const r = await s.gc({ livePointIds: ['p1', 'p2'], rewriteBelow: 1 });
    expect(r.chunksRemoved).toBe(150);
    expect(r.packsDeleted).toBeGreaterThan(0);
    expect(r.bytesFreed).toBeGreaterThan(150 * 700);
    expect(await present(s, chunks.slice(250))).toBe(0);
    for (const c of chunks.slice(0, 250)) expect(await s.getRaw(c.hash)).toEqual(c.data);
    const st = await s.stats();
    expect(st.chunks).toBe(250);
    expect(st.packs).toBeLessThan(packsBefore);
    expect((await s.verify()).damaged).toEqual([]);
    // the index was merged into one run without the dead entries, so no tombstones remain
    const manifest = JSON.parse(readFileSync(path.join(dir, 'index', 'MANIFEST.json'), 'utf8')) as { runs: Array<{ count: number }>; tombstones: number[] };
    expect(manifest.tombstones).toEqual([]);
    expect(manifest.runs.map((r) => r.count)).toEqual([250]);
    await s.close();

    const s2 = await ChunkStore.open(dir);
    expect(await present(s2, chunks.slice(250))).toBe(0);
    for (const c of chunks.slice(0, 250)) expect(await s2.getRaw(c.hash)).toEqual(c.data);
    expect((await s2.stats()).chunks).toBe(250);
    // a removed chunk can be stored again
    expect((await s2.put(chunks[399]!)).stored).toBe(true);
    await s2.flush();
    expect(await s2.getRaw(chunks[399]!.hash)).toEqual(chunks[399]!.data);
    await s2.close();
  });

  it('keeps mostly-live packs as they are below the default threshold', async () => {
    const { s, chunks } = await filled(200);
    await s.refs.write('p', chunks.filter((_, i) => i % 10 !== 0).map((c) => c.hash));
    const r = await s.gc({ livePointIds: ['p'] });
    expect(r.packsRewritten).toBe(0);
    expect(r.chunksRemoved).toBe(0);
    expect(await present(s, chunks)).toBe(200);
    await s.close();
  });

  it('keeps chunks put, deduplicated or marked in use after gc began', async () => {
    const { s, chunks } = await filled(120);
    await s.refs.write('p', chunks.slice(0, 20).map((c) => c.hash));
    const g = await s.beginGc();
    await expect(s.beginGc()).rejects.toBeInstanceOf(GcRunningError);
    const fresh = rawChunk(randomBytes(500));
    expect((await s.put(fresh)).stored).toBe(true);
    expect((await s.put(chunks[50]!)).stored).toBe(false); // dedup hit on an unreferenced chunk
    expect(s.markInUse(chunks[60]!.hash)).toBe(true);
    expect(s.markInUse(randomBytes(32))).toBe(false);
    const r = await g.run({ livePointIds: ['p'], rewriteBelow: 1 });
    expect(r.chunksRemoved).toBe(120 - 20 - 2);
    for (const c of [fresh, chunks[50]!, chunks[60]!, ...chunks.slice(0, 20)]) expect(await s.getRaw(c.hash)).toEqual(c.data);
    expect(await present(s, chunks.slice(20, 50))).toBe(0);
    await s.flush();
    expect((await s.verify()).damaged).toEqual([]);
    await s.close();
  });

  it('is safe while backups run: puts and markInUse during the sweep are kept', async () => {
    const { s, dir, chunks } = await filled(1500, { packTargetSize: 8 * 1024 });
    await s.refs.write('p', chunks.slice(0, 300).map((c) => c.hash));
    const running = s.gc({ livePointIds: ['p'], rewriteBelow: 1 }); // pinning starts at this call
    const kept: ChunkIn[] = [];
    const fresh: ChunkIn[] = [];
    let done = false;
    running.finally(() => { done = true; }).catch(() => undefined);
    for (let n = 0; !done; n++) {
      const c = chunks[300 + 4 * ((n * 7919) % 300)]!; // only every 4th unreferenced chunk is touched
      if (n % 2) {
        await s.put(c); // dedup hit, or stored again if gc already swept it: kept either way
        kept.push(c);
      } else if (s.markInUse(c.hash)) kept.push(c);
      if (n % 10 === 0) {
        const f = rawChunk(randomBytes(300));
        await s.put(f);
        fresh.push(f);
      }
      await new Promise((r) => setTimeout(r, 1)); // spread touches over the mark, copy and commit phases
    }
    const r = await running;
    await s.flush();
    expect(kept.length).toBeGreaterThan(0);
    expect(r.chunksRemoved).toBeGreaterThanOrEqual(900);
    const lost = { kept: (await Promise.all(kept.map((c) => s.has(c.hash)))).filter((x) => !x).length,
      fresh: (await Promise.all(fresh.map((c) => s.has(c.hash)))).filter((x) => !x).length,
      base: (await Promise.all(chunks.slice(0, 300).map((c) => s.has(c.hash)))).filter((x) => !x).length };
    expect(lost).toEqual({ kept: 0, fresh: 0, base: 0 });
    for (const c of [...kept, ...fresh, ...chunks.slice(0, 300)]) expect(await s.getRaw(c.hash)).toEqual(c.data);
    await s.close();
    const s2 = await ChunkStore.open(dir);
    for (const c of [...kept, ...fresh]) expect(await s2.getRaw(c.hash)).toEqual(c.data);
    expect((await s2.verify()).damaged).toEqual([]);
    await s2.close();
  });

  it('refuses to run with a missing ref list and deletes nothing', async () => {
    const { s, chunks } = await filled(50);
    await expect(s.gc({ livePointIds: ['nope'] })).rejects.toBeInstanceOf(RefListNotFoundError);
    expect(await present(s, chunks)).toBe(50);
    // a failed gc does not block the next one
    await s.refs.write('p', []);
    const r = await s.gc({ livePointIds: ['p'] });
    expect(r.chunksRemoved).toBe(50);
    await s.close();
  });

  it('reclaims the unreferenced tail a crash left after the last flushed record', async () => {
    const { s, dir, chunks } = await filled(8, { packTargetSize: 1 << 20 });
    await s.refs.write('p', chunks.map((c) => c.hash));
    await s.close();
    const sub = path.join(dir, 'packs', '00000');
    const [pack] = readdirSync(sub);
    appendFileSync(path.join(sub, pack!), randomBytes(5000)); // torn tail
    const s2 = await ChunkStore.open(dir);
    const r = await s2.gc({ livePointIds: ['p'], rewriteBelow: 0.9 });
    expect(r).toMatchObject({ packsRewritten: 1, chunksRemoved: 0 });
    expect(r.bytesFreed).toBeGreaterThanOrEqual(5000);
    expect(readdirSync(sub)).not.toContain(pack);
    for (const c of chunks) expect(await s2.getRaw(c.hash)).toEqual(c.data);
    await s2.close();
  });

  it('deletes orphan packs left by a crash', async () => {
    const { s, dir, chunks } = await filled(10);
    await s.refs.write('p', chunks.map((c) => c.hash));
    await s.close();
    const sub = path.join(dir, 'packs', '00000');
    mkdirSync(sub, { recursive: true });
    writeFileSync(path.join(sub, '00000fff.pack'), Buffer.alloc(100, 1));
    const s2 = await ChunkStore.open(dir);
    const r = await s2.gc({ livePointIds: ['p'] });
    expect(r.packsDeleted).toBe(1);
    expect(readdirSync(sub)).not.toContain('00000fff.pack');
    expect(await present(s2, chunks)).toBe(10);
    // new pack ids stay above the orphan's
    await s2.put(rawChunk(randomBytes(10)));
    await s2.flush();
    expect(readdirSync(path.join(dir, 'packs'))).toContain('00001'); // ids continue above 0x00000fff
    expect(readdirSync(path.join(dir, 'packs', '00001'))).toEqual(expect.arrayContaining([expect.stringMatching(/^00001[0-9a-f]{3}\.pack$/)]));
    await s2.close();
  });
});
