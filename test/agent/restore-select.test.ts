/**
 * Restoring chosen paths, to the original location, and from a damaged store
 * (the FakeStore stands in for the network and the server's store).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTree, EntryType } from '@strata/protocol';
import { buildTree } from '../helpers/fixture.js';
import { openChunk } from '../../agent/src/util/zstd.js';
import { compareTrees } from '../helpers/tree.js';
import { FakeStore } from './fake-store.js';
import { MiB, backup, listDir, restore, workDir } from './harness.js';

describe('restore of chosen paths and damaged stores', () => {
  let work: ReturnType<typeof workDir>;
  let src: string;
  const store = new FakeStore();
  let root: Buffer[];

  beforeAll(async () => {
    work = workDir('select');
    src = path.join(work.dir, 'src');
    buildTree(src, { largeFiles: 1, largeSize: 3 * MiB, smallFiles: 30, seed: 'select' });
    root = (await backup(store, [src], path.join(work.dir, 'cache'))).result.root;
  });
  afterAll(() => work.cleanup());

  it('restores only the chosen paths and the folders leading to them', async () => {
    const dst = path.join(work.dir, 'part');
    const r = await restore(store, root, dst, { paths: [`${src}/docs/d1`, `${src}/deep/a/b/c/d/e/leaf.txt`, `${src}/not-there`] });
    expect(r.warnings).toEqual([`${src}/not-there: not in the point; nothing restored for it`]);
    const out = path.join(dst, src);
    expect(listDir(out)).toEqual(['deep', 'docs']);
    expect(listDir(path.join(out, 'docs'))).toEqual(['d1']);
    expect(await compareTrees(path.join(src, 'docs', 'd1'), path.join(out, 'docs', 'd1'))).toEqual([]);
    expect(fs.readFileSync(path.join(out, 'deep/a/b/c/d/e/leaf.txt'), 'utf8')).toBe('deep leaf\n');
    expect(r.files).toBe(listDir(path.join(src, 'docs', 'd1')).length + 1);
  });

  it('restores a hard link whose first name is not chosen as a file with the content', async () => {
    const dst = path.join(work.dir, 'link');
    const r = await restore(store, root, dst, { paths: [`${src}/hardlink-b`] });
    expect(r.warnings).toEqual([]);
    const b = path.join(dst, src, 'hardlink-b');
    expect(fs.readFileSync(b, 'utf8')).toBe('shared by two names\n');
    expect(listDir(path.join(dst, src))).toEqual(['hardlink-b']);
  });

  it('restores to the original location, keeping existing files unless overwrite is set', async () => {
    const victim = path.join(src, 'docs', 'd3');
    const names = listDir(victim);
    fs.rmSync(path.join(victim, Buffer.from(names[0]!, 'latin1').toString()));
    fs.writeFileSync(path.join(victim, Buffer.from(names[1]!, 'latin1').toString()), 'local edit');
    const r = await restore(store, root, '', { paths: [victim] });
    expect(r.files).toBe(1);
    expect(r.warnings).toEqual([`${path.join(victim, Buffer.from(names[1]!, 'latin1').toString())}: exists; not overwritten`]);
    expect(listDir(victim)).toEqual(names);
    const r2 = await restore(store, root, '/', { paths: [victim], overwrite: true });
    expect(r2.warnings).toEqual([]);
    const snap = path.join(work.dir, 'snap');
    await restore(store, root, snap, { paths: [victim] });
    expect(await compareTrees(path.join(snap, victim), victim)).toEqual([]);
  });

  it('restores to an original location reached through a symlink (e.g. /home -> /data/home)', async () => {
    const real = path.join(work.dir, 'real');
    fs.mkdirSync(path.join(real, 'data'), { recursive: true });
    fs.writeFileSync(path.join(real, 'data', 'f'), 'content');
    fs.symlinkSync(real, path.join(work.dir, 'via'));
    const s = new FakeStore();
    const b = await backup(s, [path.join(work.dir, 'via', 'data')], path.join(work.dir, 'cache-via'));
    fs.rmSync(path.join(real, 'data', 'f'));
    const r = await restore(s, b.result.root, '');
    expect(r.warnings).toEqual([]);
    expect(fs.readFileSync(path.join(real, 'data', 'f'), 'utf8')).toBe('content');
    expect(fs.lstatSync(path.join(work.dir, 'via')).isSymbolicLink()).toBe(true);
  });

  it('fails naming the path and digest when a file chunk is corrupt, and leaves no partial file', async () => {
    const s = new FakeStore();
    for (const [k, v] of store.chunks) s.chunks.set(k, v);
    const tree = (hashes: Uint8Array[]) => decodeTree(Buffer.concat(hashes.map((h) => openChunk(s.chunks.get(Buffer.from(h).toString('hex'))!, h, 'test'))));
    const top = tree(tree(root).entries[0]!.chunks).entries;
    const big = top.find((e) => Buffer.from(e.name).toString() === 'big')!;
    const bigTree = tree(big.chunks);
    const blob = bigTree.entries[0]!;
    expect(blob.type).toBe(EntryType.File);
    const bad = Buffer.from(blob.chunks[5]!);
    s.corrupt(bad);
    const dst = path.join(work.dir, 'corrupt');
    await expect(restore(s, root, dst)).rejects.toMatchObject({
      code: 'CHUNK_CORRUPT',
      message: expect.stringContaining(`chunk ${bad.toString('hex')} of ${src}/big/blob-0.bin`),
    });
    expect(fs.existsSync(path.join(dst, src, 'big', 'blob-0.bin'))).toBe(false);
  });

  it('fails when a tree chunk is corrupt', async () => {
    const s = new FakeStore();
    for (const [k, v] of store.chunks) s.chunks.set(k, v);
    s.corrupt(root[0]!);
    await expect(restore(s, root, path.join(work.dir, 'corrupt2'))).rejects.toThrow(/of the point root is corrupt: its bytes hash to [0-9a-f]{64}/);
  });

  it('refuses a relative target or selected path', async () => {
    await expect(restore(store, root, 'relative')).rejects.toThrow(/not an absolute path/);
    await expect(restore(store, root, work.dir, { paths: ['docs'] })).rejects.toThrow(/not an absolute original path/);
  });
});
