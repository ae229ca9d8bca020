/**
 * Hostile recovery points, crafted with encodeTree into the FakeStore (which
 * stands in for the network and the server's store), and hostile targets.
 * Each must be refused with a clear error or warning, and nothing may be
 * written outside the restore target.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EntryType, type Entry } from '@strata/protocol';
import { FakeStore } from './fake-store.js';
import { listDir, restore, workDir } from './harness.js';

describe('restore refuses hostile input', () => {
  let work: ReturnType<typeof workDir>;
  let store: FakeStore;
  let outside: string;
  let target: string;

  const E = (name: string | Buffer, type: EntryType, o: Partial<Entry> = {}): Entry => ({
    name: Buffer.from(name), type, mode: type === EntryType.Dir ? 0o755 : 0o644, uid: 0, gid: 0,
    mtimeSec: 1_700_000_000, mtimeNsec: 0, ctimeSec: 0, ctimeNsec: 0, inode: 0, size: 0,
    linkTarget: Buffer.alloc(0), chunks: [], ...o,
  });
  const file = (name: string | Buffer, content = 'evil') => E(name, EntryType.File, { size: content.length, chunks: [store.put(Buffer.from(content))] });
  const dir = (name: string | Buffer, entries: Entry[]) => E(name, EntryType.Dir, { chunks: store.putTree({ entries }) });
  const symlink = (name: string, to: string) => E(name, EntryType.Symlink, { linkTarget: Buffer.from(to) });
  const hardlink = (name: string, to: string) => E(name, EntryType.Hardlink, { linkTarget: Buffer.from(to) });
  const point = (...roots: Entry[]) => store.putTree({ entries: roots });

  beforeEach(() => {
    work = workDir('hostile');
    store = new FakeStore();
    outside = path.join(work.dir, 'outside');
    target = path.join(work.dir, 'target');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'sentinel'), 'untouched');
    fs.mkdirSync(target);
  });
  afterEach(() => {
    // nothing outside the target changed
    expect(listDir(work.dir)).toEqual(['outside', 'target']);
    expect(listDir(outside)).toEqual(['sentinel']);
    expect(fs.readFileSync(path.join(outside, 'sentinel'), 'utf8')).toBe('untouched');
    expect(fs.statSync(path.join(outside, 'sentinel')).nlink).toBe(1);
    work.cleanup();
  });

  const refuse = async (root: Buffer[], why: RegExp, overwrite = false) => {
    await expect(restore(store, root, target, { overwrite })).rejects.toMatchObject({ code: 'TREE_INVALID', message: expect.stringMatching(why) });
  };

  it("refuses '..', '.', empty, '/' and NUL names", async () => {
    await refuse(point(dir('/r', [file('..')])), /refusing to restore \/r: an entry is named '\.\.'/);
    await refuse(point(dir('/r', [file('.')])), /named '\.'/);
    await refuse(point(dir('/r', [file('')])), /empty name/);
    await refuse(point(dir('/r', [file('a/../../outside/x')])), /contains '\/'/);
    await refuse(point(dir('/r', [dir('sub', [file('..')])])), /refusing to restore \/r\/sub: an entry is named '\.\.'/);
    await refuse(point(dir('/r', [file(Buffer.from('a\0b'))])), /NUL/);
  });

  it('refuses duplicate and unsorted names, and a symlink followed by a folder of the same name', async () => {
    await refuse(point(dir('/r', [file('a'), file('a')])), /duplicate entry name 'a'/);
    await refuse(point(dir('/r', [file('b'), file('a')])), /not sorted/);
    await refuse(point(dir('/r', [symlink('a', outside), dir('a', [file('pwned')])])), /duplicate entry name 'a'/);
    // nothing of /r was written before the refusal
    expect(fs.existsSync(path.join(target, 'r', 'a'))).toBe(false);
  });

  it('refuses bad root names and overlapping roots', async () => {
    await refuse(point(dir('r', [])), /not an absolute path/);
    await refuse(point(dir('/r/../outside', [file('x')])), /not a normalized path/);
    await refuse(point(dir('/r//x', [])), /not a normalized path/);
    await refuse(point(dir('/r/', [])), /not a normalized path/);
    // '/r' holds a symlink 'a' to the outside, and a second root '/r/a' would write through it
    await refuse(point(dir('/r', [symlink('a', outside)]), dir('/r/a', [file('pwned')])), /overlap/);
    await refuse(point(file('/r')), /root entry is not a folder/);
  });

  it('refuses unknown entry types', async () => {
    await refuse(point(dir('/r', [E('x', 7 as EntryType)])), /unknown entry type 7/);
  });

  it('refuses hard links that leave the point, climb, or point forward', async () => {
    await refuse(point(dir('/r', [hardlink('h', '/etc/passwd')])), /hard link target '\/etc\/passwd' is outside the point/);
    await refuse(point(dir('/r', [file('a'), hardlink('h', '/r/../../etc/passwd')])), /named '\.\.'/);
    await refuse(point(dir('/r', [hardlink('a', '/r/b'), file('b')])), /does not come before the link/);
    await refuse(point(dir('/r', [hardlink('h', '/r/h')])), /does not come before the link/);
    await refuse(point(dir('/r', [hardlink('h', '/r')])), /is a root folder/);
  });

  it('never links through a restored symlink', async () => {
    const r = await restore(store, point(dir('/r', [symlink('a', outside), hardlink('h', '/r/a/sentinel')])), target);
    expect(r.warnings).toEqual([`${target}/r/h: hard link target /r/a/sentinel was not restored; link skipped`]);
    expect(fs.readlinkSync(path.join(target, 'r', 'a'))).toBe(outside);
    expect(fs.existsSync(path.join(target, 'r', 'h'))).toBe(false);
  });

  it('does not follow a symlink already in the target, where a folder is restored', async () => {
    fs.mkdirSync(path.join(target, 'r'));
    fs.symlinkSync(outside, path.join(target, 'r', 'sub'));
    const root = point(dir('/r', [dir('sub', [file('pwned')])]));
    const r = await restore(store, root, target);
    expect(r.warnings).toEqual([`${target}/r/sub: a symbolic link (not followed) is in the way of a folder; not overwritten, nothing restored below it`]);
    expect(fs.lstatSync(path.join(target, 'r', 'sub')).isSymbolicLink()).toBe(true);
    // with overwrite the symlink itself is replaced, inside the target
    const r2 = await restore(store, root, target, { overwrite: true });
    expect(r2.warnings).toEqual([]);
    expect(fs.lstatSync(path.join(target, 'r', 'sub')).isDirectory()).toBe(true);
    expect(fs.readFileSync(path.join(target, 'r', 'sub', 'pwned'), 'utf8')).toBe('evil');
  });

  it('does not follow a symlink already in the target, where a root folder is restored', async () => {
    fs.symlinkSync(outside, path.join(target, 'r'));
    const r = await restore(store, point(dir('/r', [file('pwned')])), target);
    expect(r.warnings[0]).toMatch(/target\/r: a symbolic link \(not followed\) is in the way of a folder/);
    // a symlink in a folder leading to the root folder
    fs.rmSync(path.join(target, 'r'));
    fs.symlinkSync(outside, path.join(target, 'a'));
    const r2 = await restore(store, point(dir('/a/b', [file('pwned')])), target);
    expect(r2.warnings[0]).toMatch(/target\/a: a symbolic link \(not followed\) is in the way of a folder/);
    fs.rmSync(path.join(target, 'a'));
  });

  it('keeps a file where a folder belongs unless overwrite is set, and never replaces a folder with a file', async () => {
    fs.mkdirSync(path.join(target, 'r'));
    fs.writeFileSync(path.join(target, 'r', 'sub'), 'a file');
    fs.mkdirSync(path.join(target, 'r', 'f'));
    fs.writeFileSync(path.join(target, 'r', 'f', 'keep'), 'kept');
    const root = point(dir('/r', [file('f', 'new'), dir('sub', [file('x', 'x')])]));
    const r = await restore(store, root, target);
    // (Small files are written in the background: warnings about them may come after later entries'.)
    expect([...r.warnings].sort()).toEqual([
      `${target}/r/f: exists; not overwritten`,
      `${target}/r/sub: a non-folder is in the way of a folder; not overwritten, nothing restored below it`,
    ]);
    const r2 = await restore(store, root, target, { overwrite: true });
    expect(r2.warnings).toEqual([`${target}/r/f: exists as a folder; not replaced`]);
    expect(fs.readFileSync(path.join(target, 'r', 'f', 'keep'), 'utf8')).toBe('kept');
    expect(fs.readFileSync(path.join(target, 'r', 'sub', 'x'), 'utf8')).toBe('x');
  });

  it('does not write through a symlink already in the target, where a file is restored', async () => {
    fs.mkdirSync(path.join(target, 'r'));
    fs.symlinkSync(path.join(outside, 'sentinel'), path.join(target, 'r', 'f'));
    const root = point(dir('/r', [file('f', 'overwritten?')]));
    const r = await restore(store, root, target);
    expect(r.warnings).toEqual([`${target}/r/f: exists; not overwritten`]);
    const r2 = await restore(store, root, target, { overwrite: true });
    expect(r2.warnings).toEqual([]);
    expect(fs.lstatSync(path.join(target, 'r', 'f')).isFile()).toBe(true);
    expect(fs.readFileSync(path.join(target, 'r', 'f'), 'utf8')).toBe('overwritten?');
  });
});
