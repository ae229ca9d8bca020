/**
 * What a backup does with a file system that moves under it: vanished,
 * unreadable, special and changed-while-read entries are warnings; a missing
 * source folder or a cancel fails the job. FakeStore stands in for the network.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomBytesSeeded } from '../helpers/fixture.js';
import { InlineCompressor } from '../../agent/src/util/zstd.js';
import { commitCache } from '../../agent/src/backup/index.js';
import { FakeStore } from './fake-store.js';
import { MiB, backup, restore, workDir } from './harness.js';

const IS_ROOT = process.getuid?.() === 0;

describe('backup warnings and failures', () => {
  let work: ReturnType<typeof workDir>;
  let src: string;
  let store: FakeStore;
  beforeEach(() => {
    work = workDir('warn');
    src = path.join(work.dir, 'src');
    fs.mkdirSync(src);
    store = new FakeStore();
  });
  afterEach(() => work.cleanup());

  it('fails clearly when a source folder does not exist, or is a file', async () => {
    await expect(backup(store, [path.join(work.dir, 'nope')], path.join(work.dir, 'c'))).rejects.toThrow(/source folder .*nope does not exist/);
    fs.writeFileSync(path.join(work.dir, 'file'), 'x');
    await expect(backup(store, [path.join(work.dir, 'file')], path.join(work.dir, 'c'))).rejects.toThrow(/is not a folder/);
    await expect(backup(store, ['relative/path'], path.join(work.dir, 'c'))).rejects.toThrow(/not absolute/);
  });

  it('a file that vanishes during the walk is a warning', async () => {
    for (const n of ['a', 'b', 'z']) fs.writeFileSync(path.join(src, n), n.repeat(100));
    let removed = false;
    const r = await backup(store, [src], path.join(work.dir, 'c'), {
      onProgress: (c) => {
        if (!removed && c.currentPath.endsWith('/a')) { fs.rmSync(path.join(src, 'z')); removed = true; }
      },
    });
    expect(removed).toBe(true);
    expect(r.result.warnings).toEqual([`${path.join(src, 'z')}: vanished during the backup; skipped`]);
    expect(r.result.files).toBe(2);
  });

  it('a file that changes while being read keeps what was read, with a warning', async () => {
    const big = path.join(src, 'growing.log');
    fs.writeFileSync(big, randomBytesSeeded('grow', 10 * MiB));
    let appended = false;
    const r = await backup(store, [src], path.join(work.dir, 'c'), {
      tuning: { compressor: new InlineCompressor() },
      onProgress: (c) => {
        if (!appended && c.bytesScanned > 0 && c.currentPath.endsWith('growing.log')) {
          fs.appendFileSync(big, 'one more line\n');
          appended = true;
        }
      },
    });
    expect(appended).toBe(true);
    expect(r.result.warnings).toEqual([`${big}: changed while being read; the backup holds the ${10 * MiB + 14} bytes that were read`]);
    const dst = path.join(work.dir, 'r');
    await restore(store, r.result.root, dst);
    expect(fs.readFileSync(path.join(dst, big)).equals(fs.readFileSync(big))).toBe(true);
  });

  it('named pipes and sockets are skipped with a warning', async () => {
    execFileSync('mkfifo', [path.join(src, 'pipe')]);
    fs.writeFileSync(path.join(src, 'ok'), 'ok');
    const r = await backup(store, [src], path.join(work.dir, 'c'));
    expect(r.result.warnings).toEqual([`${path.join(src, 'pipe')}: named pipe not backed up`]);
    expect(r.result.files).toBe(1);
  });

  it('unreadable files and folders are warnings, not failures', async () => {
    fs.writeFileSync(path.join(src, 'readable'), 'fine');
    fs.writeFileSync(path.join(src, 'secret'), 'no');
    fs.chmodSync(path.join(src, 'secret'), 0o000);
    fs.mkdirSync(path.join(src, 'closed'));
    fs.writeFileSync(path.join(src, 'closed', 'inside'), 'hidden');
    fs.chmodSync(path.join(src, 'closed'), 0o000);
    fs.chmodSync(src, 0o755);
    const cache = path.join(work.dir, 'c');
    fs.mkdirSync(cache, { mode: 0o777 });
    fs.chmodSync(cache, 0o777);
    // Root reads anything, so as root the backup runs with the effective uid of
    // 'nobody' (process.seteuid, restored at once; vitest runs files in forks).
    if (IS_ROOT) process.seteuid!(65534);
    let r;
    try {
      r = await backup(store, [src], cache, { tuning: { compressor: new InlineCompressor() } });
    } finally {
      if (IS_ROOT) process.seteuid!(0);
    }
    expect(r.result.warnings.sort()).toEqual([
      `${path.join(src, 'closed')}: cannot list folder (EACCES); recorded empty`,
      `${path.join(src, 'secret')}: permission denied (open); skipped`,
    ]);
    expect(r.result.files).toBe(1);
    expect(r.result.dirs).toBe(2);
  });

  it('a file changed just before it was read is read again by the next backup', async () => {
    const cache = path.join(work.dir, 'c');
    fs.writeFileSync(path.join(src, 'old'), 'settled');
    await new Promise((r) => setTimeout(r, 1500));
    fs.writeFileSync(path.join(src, 'fresh'), 'just written');
    // A wider window for this backup ('old' stays outside it): on a loaded machine the read
    // may come more than 200 ms after the write.
    const first = await backup(store, [src], cache, { tuning: { racyWindowMs: 1000 } });
    await commitCache(cache, 'p1', first.result);
    await new Promise((r) => setTimeout(r, 300));
    const second = await backup(store, [src], cache, { parent: 'p1' });
    // 'fresh' had a ctime within the racy window when read: it was recorded with ctime 0
    expect(second.last.filesChanged).toBe(1);
    await commitCache(cache, 'p2', second.result);
    const third = await backup(store, [src], cache, { parent: 'p2' });
    expect(third.last.filesChanged).toBe(0);
  });

  it('a cancel ends the backup with an error', async () => {
    fs.writeFileSync(path.join(src, 'big'), randomBytesSeeded('cancel', 12 * MiB));
    const ac = new AbortController();
    await expect(backup(store, [src], path.join(work.dir, 'c'), {
      signal: ac.signal,
      onProgress: (c) => { if (c.bytesScanned > 0) ac.abort(); },
    })).rejects.toThrow(/cancelled/);
  });

  it('an uplink failure fails the backup', async () => {
    fs.writeFileSync(path.join(src, 'f'), randomBytesSeeded('fail', 1 * MiB));
    const up = store.uplink();
    await expect((await import('../../agent/src/backup/index.js')).runBackup({
      cmd: { jobId: 'j', dataSourceId: 'd', paths: [src], includes: [], excludes: [], parentPointId: '' },
      cacheDir: path.join(work.dir, 'c'),
      uplink: { query: up.query, send: async () => { throw new Error('link closed'); } },
    })).rejects.toThrow('link closed');
  });
});
