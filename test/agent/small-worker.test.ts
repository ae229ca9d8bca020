/** The restore's small-file worker: file bytes through reused shared slots (or a buffer of their own), many files at once. */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EntryType, type Entry } from '@strata/protocol';
import { CREATE, IS_ROOT } from '../../agent/src/restore/fsops.js';
import { SmallFileWorker } from '../../agent/src/restore/small-worker.js';

const entry = (size: number, mtimeSec: number): Entry => ({
  name: new Uint8Array(), type: EntryType.File, mode: 0o640, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0,
  mtimeSec, mtimeNsec: 0, ctimeSec: 0, ctimeNsec: 0, inode: 0, size, linkTarget: new Uint8Array(), chunks: [],
});

describe('SmallFileWorker', () => {
  const dirs: string[] = [];
  afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });

  it('writes many files at once byte-exactly, more than it has slots, of sizes around a slot', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-small-'));
    dirs.push(dir);
    const w = new SmallFileWorker(CREATE, IS_ROOT);
    try {
      const sizes = [0, 1, 4096, 256 * 1024 - 1, 256 * 1024, 256 * 1024 + 1, 900 * 1024];
      // Three rounds of 40 files in flight together: slots run out (the rest get buffers of their own) and are reused.
      for (let round = 0; round < 3; round++) {
        const files = Array.from({ length: 40 }, (_, i) => {
          const data = randomBytes(sizes[i % sizes.length]!);
          // Split into pieces, as a file's chunks arrive.
          const bufs = [data.subarray(0, data.length >> 1), data.subarray(data.length >> 1)];
          return { path: join(dir, `r${round}-f${i}`), data, bufs, e: entry(data.length, 1_600_000_000 + i) };
        });
        const results = await Promise.all(files.map((f) => w.write(Buffer.from(f.path), f.bufs, f.data.length, f.e, false)));
        for (let i = 0; i < files.length; i++) {
          const r = results[i]!;
          expect(r.ok).toBe(true);
          if (r.ok) expect(r.written).toBe(files[i]!.data.length);
          expect((await readFile(files[i]!.path)).equals(files[i]!.data)).toBe(true);
          const st = await stat(files[i]!.path);
          expect(st.mode & 0o7777).toBe(0o640);
          expect(st.mtimeMs).toBe((1_600_000_000 + i) * 1000);
        }
      }
    } finally {
      await w.close();
    }
  });
});
