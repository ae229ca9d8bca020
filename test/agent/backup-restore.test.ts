/**
 * Backup -> restore round trips on real disk, with the FakeStore standing in
 * for the network and the server's store (test/e2e runs the real ones).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EntryType, decodeTree } from '@strata/protocol';
import { commitCache } from '../../agent/src/backup/index.js';
import { chunkBuffer } from '../../agent/src/chunker/index.js';
import { sha256 } from '../../agent/src/util/hash.js';
import { InlineCompressor } from '../../agent/src/util/zstd.js';
import { buildTree, randomBytesSeeded } from '../helpers/fixture.js';
import { compareTrees } from '../helpers/tree.js';
import { FakeStore } from './fake-store.js';
import { MiB, backup, restore, sleep, workDir } from './harness.js';

const IS_ROOT = process.getuid?.() === 0;

/** The shared odd-case fixture plus a few more: special bits, owners, odd times, links across folders. */
function makeFixture(src: string): void {
  buildTree(src, { largeFiles: 2, largeSize: 9 * MiB, smallFiles: 40, seed: 'agent-unit' });
  fs.mkdirSync(path.join(src, 'setgid-dir'));
  fs.chmodSync(path.join(src, 'setgid-dir'), 0o2775);
  fs.writeFileSync(path.join(src, 'setgid-dir', 'tool'), 'x');
  fs.chmodSync(path.join(src, 'setgid-dir', 'tool'), 0o6711);
  fs.writeFileSync(path.join(src, 'no-perms'), 'nobody may read me');
  fs.chmodSync(path.join(src, 'no-perms'), 0o000);
  fs.mkdirSync(path.join(src, 'deep', 'x', 'empty', 'emptier'), { recursive: true });
  fs.writeFileSync(path.join(src, 'deep', 'x', 'linked'), 'three names');
  fs.linkSync(path.join(src, 'deep', 'x', 'linked'), path.join(src, 'docs', 'linked-too'));
  fs.linkSync(path.join(src, 'deep', 'x', 'linked'), path.join(src, 'zz-linked-three'));
  fs.writeFileSync(path.join(src, 'old'), 'from the past');
  fs.utimesSync(path.join(src, 'old'), 0, 315532800.123456);
  fs.writeFileSync(path.join(src, 'back\\slash "quoted" *star?'), 'odd');
  fs.writeFileSync(path.join(src, 'exactly-64k'), randomBytesSeeded('64k', 65536));
  fs.writeFileSync(path.join(src, 'text-compressible'), 'all work and no play\n'.repeat(50_000));
  if (IS_ROOT) {
    fs.lchownSync(path.join(src, 'old'), 1234, 5678);
    fs.lchownSync(path.join(src, 'link-to-dir'), 4321, 8765);
    fs.chownSync(path.join(src, 'setgid-dir'), 1000, 1000);
    fs.chmodSync(path.join(src, 'setgid-dir'), 0o2775);
  }
  fs.utimesSync(path.join(src, 'setgid-dir'), 1_600_000_000, 1_600_000_000.987654);
}

/** Every tree chunk hash of a point, read from the agent cache. */
function treeHashes(cache: string, root: Buffer[]): Set<string> {
  const out = new Set<string>();
  const visit = (hashes: Uint8Array[]) => {
    const parts = hashes.map((h) => {
      const x = Buffer.from(h).toString('hex');
      out.add(x);
      return fs.readFileSync(path.join(cache, 'trees', x.slice(0, 2), x));
    });
    for (const e of decodeTree(Buffer.concat(parts)).entries) if (e.type === EntryType.Dir) visit(e.chunks);
  };
  visit(root);
  return out;
}

describe('backup and restore round trip', () => {
  let work: ReturnType<typeof workDir>;
  let src: string;
  let cache: string;
  const store = new FakeStore();

  beforeAll(async () => {
    work = workDir('roundtrip');
    src = path.join(work.dir, 'src');
    cache = path.join(work.dir, 'cache');
    makeFixture(src);
    await sleep(300); // past the racy-ctime window (200 ms), so the next backup may trust these files' metadata
  });
  afterAll(() => work.cleanup());

  let first: Awaited<ReturnType<typeof backup>>;

  it('restores the fixture byte- and metadata-identical', async () => {
    first = await backup(store, [src], cache);
    const r = first.result;
    expect(r.warnings).toEqual([]);
    expect(r.root.length).toBe(1);
    // every regular file was read: all but the 3 symlinks and 3 extra hard-link names
    expect(first.last.filesScanned).toBe(r.files);
    expect(first.last.filesChanged).toBe(r.files - 6);
    expect(first.last.bytesScanned).toBe(r.bytes);
    expect(first.last.bytesSent).toBeGreaterThan(0);
    // the compressible file travelled compressed, random data raw
    expect(store.sent.some((c) => c.compression === 1)).toBe(true);
    expect(store.sent.some((c) => c.compression === 0)).toBe(true);
    // each chunk once
    expect(store.sentHashes.size).toBe(store.sent.length);

    const dst = path.join(work.dir, 'r1');
    const res = await restore(store, r.root, dst);
    expect(res.warnings).toEqual([]);
    expect(res.files).toBe(r.files);
    expect(res.bytes).toBe(r.bytes);
    expect(await compareTrees(src, path.join(dst, src))).toEqual([]);
  });

  it('a second backup with the cache reads no file and sends no chunk', async () => {
    await commitCache(cache, 'p1', first.result);
    store.reset();
    const second = await backup(store, [src], cache, { parent: 'p1' });
    expect(second.result.root).toEqual(first.result.root);
    expect(second.last.filesChanged).toBe(0);
    expect(second.last.filesScanned).toBe(first.last.filesScanned);
    expect(second.last.bytesScanned).toBe(first.result.bytes);
    expect(second.last.bytesTotal).toBe(first.result.bytes);
    expect(store.sent.length).toBe(0);
    // only tree chunks were asked about (at most one per folder here, plus the point root)
    expect(store.queried.length).toBeLessThanOrEqual(first.result.dirs + 1);
    for (const h of store.queried) expect(fs.existsSync(path.join(cache, 'trees', h.toString('hex').slice(0, 2), h.toString('hex')))).toBe(true);
    await commitCache(cache, 'p2', second.result);
  });

  it('after one file changes, sends only its new chunks and the trees on its path', async () => {
    const file = path.join(src, 'big', 'blob-1.bin');
    const old = fs.readFileSync(file);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, randomBytesSeeded('edit', 8192), 0, 8192, 4 * MiB + 100);
    fs.closeSync(fd);
    const now = fs.readFileSync(file);
    const oldSet = new Set(chunkBuffer(old).map((c) => sha256(c).toString('hex')));
    const fresh = new Set(chunkBuffer(now).map((c) => sha256(c).toString('hex')).filter((h) => !oldSet.has(h)));
    expect(fresh.size).toBeGreaterThanOrEqual(1);
    expect(fresh.size).toBeLessThanOrEqual(3);

    store.reset();
    const third = await backup(store, [src], cache, { parent: 'p2', tuning: { compressor: new InlineCompressor() } });
    expect(third.last.filesChanged).toBe(1);
    const sent = store.sentHashes;
    for (const h of fresh) expect(sent.has(h)).toBe(true);
    // + the changed tree chunks of 'big' (its Tree lists ~1200 chunk hashes, so it spans several
    // chunks of which only the edited region's change), of the source folder and of the point root
    const trees = [...sent].filter((h) => !fresh.has(h));
    const pointTrees = treeHashes(cache, third.result.root);
    for (const h of trees) expect(pointTrees.has(h)).toBe(true);
    expect(trees.length).toBeGreaterThanOrEqual(3);
    expect(trees.length).toBeLessThanOrEqual(5);
    await commitCache(cache, 'p3', third.result);

    const dst = path.join(work.dir, 'r3');
    await restore(store, third.result.root, dst);
    expect(await compareTrees(src, path.join(dst, src))).toEqual([]);
  });

  it('reads everything again when the cache does not match the parent, and resends nothing', async () => {
    store.reset();
    const r = await backup(store, [src], cache, { parent: 'some-other-point' });
    expect(r.last.filesChanged).toBe(r.result.files - 6);
    // no file data travels again (trees may: the file edited above may have left the racy window since)
    const trees = treeHashes(cache, r.result.root);
    for (const h of store.sentHashes) expect(trees.has(h)).toBe(true);
    // the pre-scan filled the totals
    expect(r.progress.some((c) => c.bytesTotal > 0 && c.filesTotal > 0)).toBe(true);
  });

  it('recovers from a damaged cache by re-reading the affected folder only', async () => {
    // p3 is committed: damage the cached tree of 'docs' (the 'docs' folder entry's chunk)
    const treeFiles: string[] = [];
    for (const d of fs.readdirSync(path.join(cache, 'trees'))) for (const f of fs.readdirSync(path.join(cache, 'trees', d))) treeFiles.push(path.join(cache, 'trees', d, f));
    const base = JSON.parse(fs.readFileSync(path.join(cache, 'base.json'), 'utf8')) as { root: string[] };
    expect(treeFiles.length).toBeGreaterThan(5);
    // garble every tree file except the two top levels: each folder below is then re-read
    const keep = new Set(base.root);
    let garbled = 0;
    for (const f of treeFiles) {
      if (keep.has(path.basename(f))) continue;
      if (garbled++ % 2) fs.writeFileSync(f, 'garbage'); else fs.rmSync(f);
    }
    store.reset();
    const r = await backup(store, [src], cache, { parent: 'p3' });
    expect(r.result.warnings).toEqual([]);
    expect(r.last.filesChanged).toBeGreaterThan(0);
    // no file data travels again (at most trees: the file edited above may have left the racy window since)
    const trees = treeHashes(cache, r.result.root);
    for (const h of store.sentHashes) expect(trees.has(h)).toBe(true);
    const dst = path.join(work.dir, 'r4');
    await restore(store, r.result.root, dst);
    expect(await compareTrees(src, path.join(dst, src))).toEqual([]);
  });

  it('commitCache keeps only the committed point\'s trees', async () => {
    store.reset();
    const r = await backup(store, [src], cache, { parent: 'p3' });
    await commitCache(cache, 'p5', r.result);
    const files = fs.readdirSync(path.join(cache, 'trees')).flatMap((d) => fs.readdirSync(path.join(cache, 'trees', d)));
    expect(new Set(files)).toEqual(treeHashes(cache, r.result.root));
    expect(fs.readdirSync(cache).filter((n) => n.startsWith('used-')).length).toBe(1);
    const base = JSON.parse(fs.readFileSync(path.join(cache, 'base.json'), 'utf8'));
    expect(base).toMatchObject({ pointId: 'p5', root: r.result.root.map((h) => h.toString('hex')), files: r.result.files, bytes: r.result.bytes });
  });

  it('backs up several source folders as separate root entries, dropping nested ones', async () => {
    const other = path.join(work.dir, 'other');
    fs.mkdirSync(path.join(other, 'inner'), { recursive: true });
    fs.writeFileSync(path.join(other, 'inner', 'f'), 'other');
    const s = new FakeStore();
    const r = await backup(s, [other, `${src}/`, path.join(other, 'inner')], path.join(work.dir, 'cache2'));
    expect(r.result.warnings).toEqual([`${path.join(other, 'inner')}: inside source folder ${other}; backed up as part of it`]);
    const dst = path.join(work.dir, 'r6');
    await restore(s, r.result.root, dst);
    expect(await compareTrees(src, path.join(dst, src))).toEqual([]);
    expect(await compareTrees(other, path.join(dst, other))).toEqual([]);
  });
});
