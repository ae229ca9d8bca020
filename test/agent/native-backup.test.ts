/**
 * A backup through the native path (agent/native) stores every file with
 * exactly the chunks and hashes of the JS reference (Chunker + node:crypto),
 * for small files cut whole (sync and on the thread pool), files of exactly
 * one read block and around it, and multi-block files; with and without the
 * file worker. Under STRATA_AGENT_NATIVE=0 the same checks hold for the JS path.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EntryType, decodeTree, type Entry } from '@strata/protocol';
import { chunkBuffer, nativeStatus } from '../../agent/src/chunker/index.js';
import { openChunk } from '../../agent/src/util/zstd.js';
import { randomBytesSeeded } from '../helpers/fixture.js';
import { FakeStore } from './fake-store.js';
import { MiB, backup, workDir } from './harness.js';

const FILES: [string, number | Buffer][] = [
  ['empty', 0], ['one', 1], ['below-min', 4095], ['small-sync', 9000], ['small-async', 40_000],
  ['block-minus-1', MiB - 1], ['block', MiB], ['block-plus-1', MiB + 1], ['multi', 3 * MiB + 333],
  ['zeros', Buffer.alloc(2 * MiB + 7)], ['text', Buffer.from('strata native path\n'.repeat(200_000))],
];

describe('backup through the native path', () => {
  let work: ReturnType<typeof workDir>;
  let src: string;
  const contents = new Map<string, Buffer>();

  beforeAll(() => {
    work = workDir('native');
    src = path.join(work.dir, 'src');
    fs.mkdirSync(src);
    for (const [name, what] of FILES) {
      const data = typeof what === 'number' ? randomBytesSeeded(`native-${name}`, what) : what;
      contents.set(name, data);
      fs.writeFileSync(path.join(src, name), data);
    }
  });
  afterAll(() => work.cleanup());

  it('is on unless STRATA_AGENT_NATIVE=0', () => {
    expect(nativeStatus().native).toBe(process.env.STRATA_AGENT_NATIVE !== '0');
    // The switch, in a fresh process (the choice is made once per process).
    const status = (env: string | undefined) => JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e',
      "const m = await import('./agent/src/chunker/native.ts'); console.log(JSON.stringify(m.nativeStatus()))"],
    { cwd: path.resolve(import.meta.dirname, '../..'), env: { ...process.env, STRATA_AGENT_NATIVE: env } }).toString()) as { native: boolean; reason: string };
    expect(status('0')).toEqual({ native: false, reason: 'STRATA_AGENT_NATIVE=0' });
    expect(status('1')).toEqual({ native: true, reason: 'addon loaded' });
  });

  for (const fileWorker of [false, true]) {
    it(`stores the reference chunks of every file (file worker ${fileWorker ? 'on' : 'off'})`, async () => {
      const store = new FakeStore();
      const { result } = await backup(store, [src], path.join(work.dir, `cache-${fileWorker}`), { tuning: { fileWorker } });
      const tree = (hashes: Uint8Array[]) => decodeTree(Buffer.concat(hashes.map((h) => openChunk(store.chunks.get(Buffer.from(h).toString('hex'))!, h, 'test'))));
      const top = tree(result.root).entries[0]!;
      expect(top.type).toBe(EntryType.Dir);
      const files = new Map<string, Entry>(tree(top.chunks).entries.map((e) => [Buffer.from(e.name).toString(), e]));
      expect(files.size).toBe(FILES.length);
      for (const [name, data] of contents) {
        const e = files.get(name)!;
        const want = chunkBuffer(data).map((c) => createHash('sha256').update(c).digest('hex'));
        expect(e.chunks.map((h) => Buffer.from(h).toString('hex')), name).toEqual(want);
        expect(Number(e.size)).toBe(data.length);
        // Every chunk the store holds is the bytes its hash names.
        const got = Buffer.concat(e.chunks.map((h) => openChunk(store.chunks.get(Buffer.from(h).toString('hex'))!, h, name)));
        expect(got.equals(data), name).toBe(true);
      }
    });
  }
});
