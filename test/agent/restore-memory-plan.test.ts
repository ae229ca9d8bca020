/**
 * The restore planner drops the entries it has passed from a folder's decoded
 * Tree: a file's Entry (with a view per chunk hash) must be collectable once
 * the writer is done with it, while the planner is still inside the folder —
 * not kept until the whole folder is done (a folder of large files held every
 * file's chunk list, growing with the dataset).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChunkFeed, fetchTree } from '../../agent/src/restore/feed.js';
import { Planner } from '../../agent/src/restore/plan.js';
import { Selection } from '../../agent/src/restore/select.js';
import { getGc } from '../../agent/src/util/memory.js';
import { randomBytesSeeded } from '../helpers/fixture.js';
import { FakeStore } from './fake-store.js';
import { backup, workDir } from './harness.js';

const KiB = 1024;
const FILES = 40;

describe('restore planner memory', () => {
  let work: ReturnType<typeof workDir>;
  const store = new FakeStore();
  let root: Buffer[];

  beforeAll(async () => {
    work = workDir('plan-mem');
    const src = path.join(work.dir, 'src');
    fs.mkdirSync(src);
    for (let f = 0; f < FILES; f++) fs.writeFileSync(path.join(src, `f${String(f).padStart(2, '0')}.bin`), randomBytesSeeded(`plan-mem-${f}`, 160 * KiB));
    root = (await backup(store, [src], path.join(work.dir, 'cache'))).result.root;
  });
  afterAll(() => work.cleanup());

  it('lets the entries of files already handed out be collected while the folder is still being walked', async () => {
    const gc = getGc();
    expect(gc).not.toBeNull();
    const downlink = store.downlink();
    const rootTree = await fetchTree(downlink, root, 'root');
    const limits = { batchBytes: 64 * KiB, batchChunks: 4096, batchesInFlight: 2, windowBytes: 256 * KiB };
    const feed = new ChunkFeed(downlink, limits);
    // 640 KiB ahead: the planner stays about four files ahead of the "writer" below.
    const planner = new Planner(downlink, feed, new Selection([]), rootTree, 640 * KiB);
    planner.start();
    const refs: WeakRef<object>[] = [];
    let leaves = 0;
    let ended = false;
    const consume = async (): Promise<void> => {
      const s = await planner.next();
      if (!s) throw new Error('plan ended early');
      if (s.kind === 'fail') throw s.error;
      if (s.kind === 'end') ended = true;
      if (s.kind === 'leaf') {
        refs.push(new WeakRef(s.e));
        leaves++;
        feed.skip(s.queued);
      }
    };
    while (leaves < FILES - 10) await consume();
    // The planner is waiting for room inside the folder (its Tree still in use).
    expect(ended).toBe(false);
    await new Promise((r) => setTimeout(r, 10));
    gc!();
    await new Promise((r) => setTimeout(r, 0));
    gc!();
    const alive = refs.slice(0, FILES - 12).filter((r) => r.deref() !== undefined).length;
    expect(alive).toBe(0);
    while (!ended) await consume();
    expect(leaves).toBe(FILES);
    planner.stop();
  });
});
