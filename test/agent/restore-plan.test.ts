/**
 * The restore's look-ahead planner and chunk feed: chunks are queued across
 * folder boundaries (requests are few and sized by bytes, not per folder),
 * identical chunks are fetched once while in flight, zero chunks become holes,
 * and a folder that is not restored drops its queued chunks without
 * disturbing the files after it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RestoreDownlink } from '../../agent/src/restore/index.js';
import { EntryType } from '@strata/protocol';
import { ChunkFeed, fetchTree } from '../../agent/src/restore/feed.js';
import { randomBytesSeeded } from '../helpers/fixture.js';
import { compareTrees } from '../helpers/tree.js';
import { FakeStore } from './fake-store.js';
import { MiB, backup, restore, workDir } from './harness.js';

/** Records every fetch call's hashes; `slow(hashes)` true makes that reply take 10 ms (a network). */
function recording(store: FakeStore, slow: (h: Buffer[]) => boolean = () => false): RestoreDownlink & { calls: Buffer[][] } {
  const inner = store.downlink();
  const calls: Buffer[][] = [];
  return {
    calls,
    fetch: async (h) => {
      calls.push(h);
      const r = await inner.fetch(h);
      if (slow(h)) await new Promise((res) => setTimeout(res, 10));
      return r;
    },
  };
}

/** The hashes of every Tree chunk of the point (folders' chunk lists). */
async function treeHashes(store: FakeStore, root: Buffer[]): Promise<Set<string>> {
  const out = new Set<string>();
  const walk = async (hashes: Uint8Array[]) => {
    for (const h of hashes) out.add(Buffer.from(h).toString('hex'));
    const tree = await fetchTree(store.downlink(), hashes, 'x');
    for (const e of tree.entries) if (e.type === EntryType.Dir) await walk(e.chunks);
  };
  await walk(root);
  return out;
}

describe('restore planner', () => {
  let work: ReturnType<typeof workDir>;
  let src: string;
  const store = new FakeStore();
  let root: Buffer[];
  const FOLDERS = 60;

  beforeAll(async () => {
    work = workDir('plan');
    src = path.join(work.dir, 'src');
    // Many folders of small files (a sub-folder between files of each), duplicate files, zero runs.
    for (let d = 0; d < FOLDERS; d++) {
      const dir = path.join(src, `p${d % 6}`, `d${d}`);
      fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
      for (let f = 0; f < 12; f++) fs.writeFileSync(path.join(dir, f < 6 ? `a${f}` : `z${f}`), `folder ${d} file ${f}\n`.repeat(1 + ((d * 7 + f * 13) % 300)));
      fs.writeFileSync(path.join(dir, 'sub', 'x'), `sub ${d}\n`);
      fs.writeFileSync(path.join(dir, 'empty'), '');
    }
    const dup = randomBytesSeeded('plan-dup', 300 * 1024);
    for (let k = 0; k < 3; k++) fs.writeFileSync(path.join(src, `dup-${k}.bin`), dup);
    const img = Buffer.concat([randomBytesSeeded('plan-img', 200 * 1024), Buffer.alloc(3 * MiB), randomBytesSeeded('plan-img2', 100 * 1024), Buffer.alloc(MiB)]);
    fs.writeFileSync(path.join(src, 'disk.img'), img);
    root = (await backup(store, [src], path.join(work.dir, 'cache'))).result.root;
  });
  afterAll(() => work.cleanup());

  it('restores many folders of small files identically, with requests spanning folders', async () => {
    const trees = await treeHashes(store, root);
    const isData = (h: Buffer[]) => !trees.has(h[0]!.toString('hex'));
    const dl = recording(store, isData);
    const target = path.join(work.dir, 'r1');
    const r = await restore(store, root, target, { downlink: dl });
    expect(r.warnings).toEqual([]);
    expect(await compareTrees(src, path.join(target, src))).toEqual([]);
    // While data requests are out, the planner queues the next folders' files: data is not requested folder by folder.
    expect(dl.calls.filter(isData).length).toBeLessThan(FOLDERS / 4);
  });

  it('requests each chunk once while it is in the window (duplicate files, zero runs) and leaves zero runs as holes', async () => {
    const dl = recording(store);
    const target = path.join(work.dir, 'r2');
    await restore(store, root, target, { downlink: dl });
    const seen = new Set<string>();
    for (const h of dl.calls.flat()) {
      expect(seen.has(h.toString('hex'))).toBe(false);
      seen.add(h.toString('hex'));
    }
    const img = path.join(target, src, 'disk.img');
    expect(fs.readFileSync(img).equals(fs.readFileSync(path.join(src, 'disk.img')))).toBe(true);
    expect(fs.statSync(img).size).toBe(fs.statSync(path.join(src, 'disk.img')).size);
  });

  it('drops the chunks of a folder that is not restored and restores the folders after it', async () => {
    const target = path.join(work.dir, 'r3');
    const blocked = path.join(target, src, 'p0');
    fs.mkdirSync(path.dirname(blocked), { recursive: true });
    fs.symlinkSync('/nonexistent', blocked);
    const r = await restore(store, root, target);
    expect(r.warnings.some((w) => w.includes('p0') && w.includes('symbolic link'))).toBe(true);
    for (let p = 1; p < 6; p++) expect(await compareTrees(path.join(src, `p${p}`), path.join(target, src, `p${p}`))).toEqual([]);
    expect(fs.readFileSync(path.join(target, src, 'dup-2.bin')).equals(fs.readFileSync(path.join(src, 'dup-2.bin')))).toBe(true);
  });
});

describe('ChunkFeed', () => {
  it('sizes requests by expected bytes and fetches a repeated chunk once per window', async () => {
    const store = new FakeStore();
    const a = store.put(randomBytesSeeded('feed-a', 64 * 1024));
    const distinct = Array.from({ length: 40 }, (_, k) => store.put(randomBytesSeeded(`feed-${k}`, 64 * 1024)));
    const dl = recording(store);
    const feed = new ChunkFeed(dl, { batchBytes: 512 * 1024, batchChunks: 4096, batchesInFlight: 4, windowBytes: 8 * MiB });
    const order: Buffer[] = [];
    for (const h of distinct) {
      feed.enqueue([h, a], 'f', 128 * 1024);
      order.push(h, a);
    }
    feed.flush();
    for (const h of order) {
      const b = await feed.take();
      expect(b.length).toBe(64 * 1024);
      expect(b.equals(h === a ? randomBytesSeeded('feed-a', 64 * 1024) : b)).toBe(true);
    }
    const all = dl.calls.flat().map((h) => h.toString('hex'));
    expect(all.filter((h) => h === a.toString('hex')).length).toBe(1);
    expect(all.length).toBe(41);
    // 512 KiB per request at 64 KiB per chunk: at most 8 new chunks each.
    for (const c of dl.calls) expect(c.length).toBeLessThanOrEqual(8);
  });
});
