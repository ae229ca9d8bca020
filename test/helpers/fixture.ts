/**
 * Declarative, seeded test trees: the odd cases a backup must keep (empty
 * files and dirs, unicode, spaces, newlines and non-UTF-8 bytes in names,
 * symlinks, hard links, special mode bits), many small text files and large
 * incompressible ones; and a ~1% change of such a tree.
 */
import { createCipheriv } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Deterministic fast random bytes: AES-128-CTR over zeros, keyed by the seed. */
export function randomBytesSeeded(seed: string, n: number): Buffer {
  const key = Buffer.alloc(16);
  key.write(seed.padEnd(16, '#').slice(0, 16));
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n));
}

const enc = (s: string) => Buffer.from(s);
const join = (dir: string | Buffer, name: string | Buffer) => Buffer.concat([Buffer.from(dir), enc('/'), Buffer.from(name)]);

export interface FixtureOptions { largeFiles: number; largeSize: number; smallFiles: number; seed?: string }

/** Builds the tree; returns its logical size in bytes. */
export function buildTree(root: string, o: FixtureOptions): number {
  const seed = o.seed ?? 'strata';
  let total = 0;
  fs.mkdirSync(root, { recursive: true });
  const write = (p: string | Buffer, data: Buffer | string, mode?: number) => {
    fs.writeFileSync(p, data);
    if (mode !== undefined) fs.chmodSync(p, mode);
    total += Buffer.byteLength(data);
  };
  // odd cases
  write(path.join(root, 'empty.txt'), '');
  fs.mkdirSync(path.join(root, 'empty dir'));
  write(path.join(root, 'naïve café — 日本語.txt'), 'unicode\n');
  write(path.join(root, 'with space and\nnewline'), 'newline in name\n');
  write(join(root, Buffer.from([0x6c, 0x61, 0x74, 0x69, 0x6e, 0x31, 0xe9, 0xff])), 'latin-1 name\n');
  write(path.join(root, 'setuid-script'), '#!/bin/sh\necho hi\n', 0o4755);
  fs.mkdirSync(path.join(root, 'sticky'), { mode: 0o1777 });
  fs.chmodSync(path.join(root, 'sticky'), 0o1777);
  write(path.join(root, 'private.key'), 'secret\n', 0o600);
  fs.symlinkSync('naïve café — 日本語.txt', path.join(root, 'link-to-unicode'));
  fs.symlinkSync('/nonexistent/target', path.join(root, 'dangling-link'));
  fs.symlinkSync('empty dir', path.join(root, 'link-to-dir'));
  write(path.join(root, 'hardlink-a'), 'shared by two names\n');
  fs.linkSync(path.join(root, 'hardlink-a'), path.join(root, 'hardlink-b'));
  fs.mkdirSync(path.join(root, 'deep/a/b/c/d/e'), { recursive: true });
  write(path.join(root, 'deep/a/b/c/d/e/leaf.txt'), 'deep leaf\n');
  // many small text files
  const words = ['backup', 'restore', 'chunk', 'agent', 'vault', 'policy', 'point', 'store', 'index', 'tree'];
  const rnd = randomBytesSeeded(seed + 'small', o.smallFiles * 4);
  for (let i = 0; i < o.smallFiles; i++) {
    const dir = path.join(root, 'docs', `d${i % 20}`);
    fs.mkdirSync(dir, { recursive: true });
    const n = 50 + rnd.readUInt16LE(i * 4) % 4000;
    let s = '';
    for (let w = 0; w < n; w++) s += words[(rnd[(i * 4 + w) % rnd.length]! + w) % words.length] + (w % 12 ? ' ' : '\n');
    write(path.join(dir, `note-${i}.txt`), s);
  }
  // large incompressible files
  fs.mkdirSync(path.join(root, 'big'));
  for (let i = 0; i < o.largeFiles; i++) write(path.join(root, 'big', `blob-${i}.bin`), randomBytesSeeded(`${seed}-big-${i}`, o.largeSize));
  return total;
}

/**
 * Changes about `fraction` of the large files' bytes: scattered 4–64 KiB
 * overwrites, one insertion in the middle of a large file, plus new and
 * deleted small files. Returns the number of bytes changed.
 */
export function changeTree(root: string, fraction: number, seed = 'change'): number {
  const bigDir = path.join(root, 'big');
  const bigs = fs.readdirSync(bigDir).sort();
  let budget = 0;
  for (const b of bigs) budget += fs.statSync(path.join(bigDir, b)).size;
  budget = Math.floor(budget * fraction);
  const rnd = randomBytesSeeded(seed, 1 << 20);
  let r = 0;
  const next = () => { const v = rnd.readUInt32LE(r % (rnd.length - 4)); r += 4; return v; };
  let changed = 0;
  // the insertion: 10 KiB in the middle of the first big file
  const first = path.join(bigDir, bigs[0]!);
  const data = fs.readFileSync(first);
  const mid = data.length >> 1;
  const ins = randomBytesSeeded(seed + 'ins', 10 * 1024);
  fs.writeFileSync(first, Buffer.concat([data.subarray(0, mid), ins, data.subarray(mid)]));
  changed += ins.length;
  // scattered overwrites
  while (changed < budget) {
    const f = path.join(bigDir, bigs[next() % bigs.length]!);
    const size = fs.statSync(f).size;
    const len = 4096 + (next() % (60 * 1024));
    const off = next() % Math.max(1, size - len);
    const fd = fs.openSync(f, 'r+');
    fs.writeSync(fd, randomBytesSeeded(seed + changed, len), 0, len, off);
    fs.closeSync(fd);
    changed += len;
  }
  // new and deleted small files
  fs.mkdirSync(path.join(root, 'docs', 'new'), { recursive: true });
  for (let i = 0; i < 5; i++) {
    const s = `new file ${i}\n`.repeat(100);
    fs.writeFileSync(path.join(root, 'docs', 'new', `n${i}.txt`), s);
    changed += s.length;
  }
  for (const d of ['d1', 'd2']) {
    const dir = path.join(root, 'docs', d);
    for (const f of fs.readdirSync(dir).slice(0, 3)) fs.rmSync(path.join(dir, f));
  }
  return changed;
}
