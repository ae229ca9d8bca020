/** Include/exclude patterns: the glob syntax, and what a backup keeps (FakeStore stands in for the network). */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Glob } from '../../agent/src/util/glob.js';
import { PathFilter } from '../../agent/src/backup/filter.js';
import { FakeStore } from './fake-store.js';
import { backup, listDir, restore, workDir } from './harness.js';

const segs = (p: string) => p.split('/').filter(Boolean);

describe('glob', () => {
  it.each([
    ['*.tmp', 'a.tmp', true], ['*.tmp', '.hidden.tmp', true], ['*.tmp', 'a.tmpx', false], ['*.tmp', 'd/a.tmp', false],
    ['a?c', 'abc', true], ['a?c', 'a/c', false], ['[ab]x', 'bx', true], ['[!ab]x', 'bx', false], ['[!ab]x', 'cx', true],
    ['[a-c]*', 'cat', true], ['[a-c]*', 'dog', false],
    ['**', 'any/thing/at/all', true], ['**/cache', 'cache', true], ['**/cache', 'x/y/cache', true],
    ['**/cache/**', 'x/cache', true], ['**/cache/**', 'x/cache/deep/file', true], ['**/cache/**', 'x/cachex/f', false],
    ['docs/*.txt', 'docs/a.txt', true], ['docs/*.txt', 'docs/sub/a.txt', false], ['docs/**/*.txt', 'docs/sub/a.txt', true],
    ['docs/**/*.txt', 'docs/a.txt', true], ['a\\*b', 'a*b', true], ['a\\*b', 'axb', false], ['[x', '[x', true],
  ])('%s vs %s -> %s', (pattern, p, want) => {
    expect(new Glob(pattern).matches(segs(p))).toBe(want);
  });

  it('knows whether something below a folder could match', () => {
    expect(new Glob('docs/d1/**').couldMatchBelow(segs('docs'))).toBe(true);
    expect(new Glob('docs/d1/**').couldMatchBelow(segs('docs/d1'))).toBe(true);
    expect(new Glob('docs/d1/**').couldMatchBelow(segs('docs/d2'))).toBe(false);
    expect(new Glob('docs/d1/**').couldMatchBelow(segs('big'))).toBe(false);
    expect(new Glob('**/x').couldMatchBelow(segs('any/where'))).toBe(true);
  });

  it('matches against the relative path, the base name, or (leading /) the absolute path', () => {
    const f = new PathFilter([], ['*.bin', 'docs/d1', '/srv/data/skip'], segs('/srv/data'));
    expect(f.excluded(segs('big/blob.bin'))).toBe(true);
    expect(f.excluded(segs('docs/d1'))).toBe(true);
    expect(f.excluded(segs('x/docs/d1'))).toBe(false);
    expect(f.excluded(segs('skip'))).toBe(true);
    expect(f.excluded(segs('other/skip'))).toBe(false);
  });
});

describe('backup with includes and excludes', () => {
  let work: ReturnType<typeof workDir>;
  let src: string;
  beforeAll(() => {
    work = workDir('filter');
    src = path.join(work.dir, 'src');
    for (const f of ['docs/d1/a.txt', 'docs/d1/b.bin', 'docs/d2/c.txt', 'big/blob.bin', 'cache/x', 'deep/cache/y', 'top.txt', '.hidden.bin']) {
      fs.mkdirSync(path.dirname(path.join(src, f)), { recursive: true });
      fs.writeFileSync(path.join(src, f), f);
    }
  });
  afterAll(() => work.cleanup());

  const run = async (includes: string[], excludes: string[]) => {
    const store = new FakeStore();
    const r = await backup(store, [src], path.join(work.dir, `c-${Math.random()}`), { includes, excludes });
    const dst = path.join(work.dir, `r-${Math.random()}`);
    await restore(store, r.result.root, dst);
    const out: string[] = [];
    const walk = (d: string, rel: string) => {
      for (const n of fs.readdirSync(d).sort()) {
        const p = path.join(d, n);
        out.push(rel + n + (fs.statSync(p).isDirectory() ? '/' : ''));
        if (fs.statSync(p).isDirectory()) walk(p, `${rel + n}/`);
      }
    };
    walk(path.join(dst, src), '');
    return out;
  };

  it('skips excluded entries and does not enter excluded folders', async () => {
    expect(await run([], ['*.bin', '**/cache'])).toEqual(['big/', 'deep/', 'docs/', 'docs/d1/', 'docs/d1/a.txt', 'docs/d2/', 'docs/d2/c.txt', 'top.txt']);
  });

  it('keeps only included files, with the folders leading to them', async () => {
    expect(await run(['docs/d1/**'], [])).toEqual(['docs/', 'docs/d1/', 'docs/d1/a.txt', 'docs/d1/b.bin']);
    expect(await run(['*.txt'], ['docs/d2'])).toEqual(['big/', 'cache/', 'deep/', 'deep/cache/', 'docs/', 'docs/d1/', 'docs/d1/a.txt', 'top.txt']);
  });

  it('an excluded file does not count anywhere', async () => {
    const store = new FakeStore();
    const r = await backup(store, [src], path.join(work.dir, 'cx'), { excludes: ['**'] });
    expect(r.result.files).toBe(0);
    expect(r.result.dirs).toBe(1);
    expect(listDir(src).length).toBeGreaterThan(0);
  });
});
