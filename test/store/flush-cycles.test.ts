/**
 * Regression: a flush with nothing left to write (e.g. an unchanged backup's
 * commit) must not stop later appends to the same pack from being written.
 * Before the fix, the pack's write loop was left as a stale resolved promise:
 * records were indexed and "flushed" but never reached the file, and a later
 * restore found the pack truncated.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ChunkStore } from '../../server/src/chunk-store/index.js';
import { rawChunk, tempDir } from './helpers.js';

describe('flush cycles on one open pack', () => {
  it('every chunk survives flush, idle flushes, more appends, flush and reopen', async () => {
    const dir = tempDir();
    const s = await ChunkStore.open(dir, { writeBufferSize: 64 * 1024 });
    const chunks = [];
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 40; i++) {
        const c = rawChunk(randomBytes(3000 + i * 97));
        chunks.push(c);
        await s.put(c);
      }
      await s.flush();
      await s.flush(); // nothing new: the empty-queue path
      await s.flush();
    }
    await s.close();
    const again = await ChunkStore.open(dir);
    for (const c of chunks) expect(await again.getRaw(c.hash)).toEqual(c.data);
    const v = await again.verify();
    expect(v.damaged).toEqual([]);
    expect(v.checked).toBe(chunks.length);
    await again.close();
  });
});
