/**
 * The walker's batched lstat (addon lstatMany, backup/lstat-batch.ts): one
 * thread-pool trip for a folder's batch of entries. Its fields must equal
 * fs.lstatSync(path, { bigint: true }) for every kind of entry (a symbolic
 * link itself, never its target), and a path that fails must fail as fs.lstat
 * does: Node's code and errno, syscall 'lstat', the path.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Addon from '@strata/native';
import { nativeLstatMany } from '../../agent/src/backup/lstat-batch.js';
import { workDir } from './harness.js';

const addon = createRequire(import.meta.url)('@strata/native') as typeof Addon;
const FIELDS = ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'size', 'mtimeNs', 'ctimeNs'] as const;

describe('lstatMany (addon) and the walker\'s batched lstat', () => {
  let work: ReturnType<typeof workDir>;
  let d: string;
  beforeAll(() => {
    work = workDir('native-stat');
    d = work.dir;
    fs.writeFileSync(path.join(d, 'file'), 'twelve bytes');
    fs.writeFileSync(path.join(d, 'empty'), '');
    fs.mkdirSync(path.join(d, 'dir'));
    fs.symlinkSync('file', path.join(d, 'link'));
    fs.symlinkSync('nowhere', path.join(d, 'dangling'));
    fs.linkSync(path.join(d, 'file'), path.join(d, 'hard'));
    execFileSync('mkfifo', [path.join(d, 'fifo')]);
    fs.writeFileSync(path.join(d, Buffer.from('odd name \n\xff').toString('latin1')), 'x');
    for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(d, `many-${i}`), 'y'.repeat(i));
  });
  afterAll(() => work.cleanup());

  it('gives fs.lstatSync\'s fields for files, folders, links (not followed), fifos and odd names', async () => {
    const names = fs.readdirSync(d, { encoding: 'buffer' });
    expect(names.length).toBeGreaterThan(200);
    const paths = names.map((n) => Buffer.concat([Buffer.from(d + '/'), n]));
    const many = nativeLstatMany();
    expect(many).not.toBeNull();
    const got = await many!(paths);
    expect(got).toHaveLength(paths.length);
    paths.forEach((p, k) => {
      const want = fs.lstatSync(p, { bigint: true });
      const r = got[k]!;
      expect(r.ok, p.toString()).toBe(true);
      if (!r.ok) return;
      for (const f of FIELDS) expect(r.st[f], `${p.toString()} ${f}`).toBe(want[f]);
      expect(r.st.isSymbolicLink()).toBe(want.isSymbolicLink());
      expect(r.st.isDirectory()).toBe(want.isDirectory());
      expect(r.st.isFIFO()).toBe(want.isFIFO());
    });
  });

  it('a path that fails carries the same code, errno, syscall and path as fs.lstat', async () => {
    const missing = Buffer.from(path.join(d, 'missing'));
    const notDir = Buffer.from(path.join(d, 'file', 'below'));
    const tooLong = Buffer.from(path.join(d, 'n'.repeat(300)));
    const got = await nativeLstatMany()!([missing, Buffer.from(path.join(d, 'file')), notDir, tooLong]);
    expect(got[1]!.ok).toBe(true);
    for (const [k, p] of [[0, missing], [2, notDir], [3, tooLong]] as const) {
      let want: NodeJS.ErrnoException | null = null;
      try { fs.lstatSync(p); } catch (e) { want = e as NodeJS.ErrnoException; }
      const r = got[k]!;
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      const err = r.err as NodeJS.ErrnoException;
      expect(err.code).toBe(want!.code);
      expect(err.errno).toBe(want!.errno);
      expect(err.syscall).toBe('lstat');
      expect(err.path).toBe(p.toString());
      expect(err.message).toBe(want!.message);
    }
  });

  it('refuses a list that is not NUL-terminated paths', () => {
    expect(() => addon.lstatMany(Buffer.from('/tmp'))).toThrow(/ended by a NUL/);
    expect(() => addon.lstatMany(Buffer.from('/tmp\0\0'))).toThrow(/non-empty/);
    expect(() => addon.lstatMany(Buffer.alloc(0))).toThrow(/1 to 65536/);
    expect(() => (addon.lstatMany as (...a: unknown[]) => unknown)('not bytes')).toThrow(/paths/);
  });
});
