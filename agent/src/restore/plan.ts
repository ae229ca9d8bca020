/**
 * The look-ahead planner: walks the point in exactly the order the restorer
 * writes it, fetching folder Trees and queueing the selected files' chunks in
 * the ChunkFeed across folder boundaries, up to `aheadBytes` (expected bytes)
 * ahead of the writer. Without it the fetch pipeline empties at every folder
 * (the writer would wait for the next Tree and then for its first data). The
 * walk is handed to the writer as a sequence of Steps; the planner touches no
 * file system, so the writer decides what is created (and drops the chunks of
 * what it skips).
 */
import { EntryType, type Entry, type Tree } from '@strata/protocol';
import { asBuffer, joinPath, showPath } from '../util/bytes.js';
import { checkAborted } from '../util/errors.js';
import { fetchTree, type ChunkFeed } from './feed.js';
import type { LinkPos } from './links.js';
import type { Selected, Selection } from './select.js';
import type { RestoreDownlink } from './types.js';
import { checkTree } from './validate.js';

/** Sub-folder Trees requested ahead of the walk, and the largest Tree (in chunks) worth requesting early. */
const TREES_AHEAD = 32;
const PREFETCH_MAX_CHUNKS = 16;
/** Steps the planner keeps ready ahead of the writer (bounds memory for trees of empty files). */
const STEPS_AHEAD = 16384;

/**
 * dir: a folder to create (root: its root index; count: its size joins the
 * selected total), then its contents, up to the matching 'end'. leaf: a
 * non-folder; `queued` chunks of it are in the feed. fail: the folder's Tree
 * could not be read or is invalid (fatal if the writer restores that folder).
 */
export type Step =
  | { kind: 'dir'; e: Entry; point: Buffer; name: Buffer; pos: LinkPos; state: Selected; root: number; count: boolean }
  | { kind: 'leaf'; e: Entry; point: Buffer; name: Buffer; pos: LinkPos; queued: number; count: boolean }
  | { kind: 'end' }
  | { kind: 'fail'; error: unknown };

export class Planner {
  private steps: Step[] = [];
  private head = 0;
  private done = false;
  private stopped = false;
  private wake: (() => void) | null = null;
  private room: (() => void) | null = null;
  /** Sub-folder Trees requested ahead of the walk (a folder's Tree is needed before any of its data can be). */
  private readonly trees = new Map<Entry, { p: Promise<Tree>; ready: boolean }>();

  constructor(
    private readonly downlink: RestoreDownlink,
    private readonly feed: ChunkFeed,
    private readonly sel: Selection,
    private readonly rootTree: Tree,
    private readonly aheadBytes: number,
    private readonly signal?: AbortSignal,
  ) {}

  start(): void {
    this.walk()
      .catch((error) => { this.push({ kind: 'fail', error }); })
      .finally(() => {
        this.done = true;
        this.feed.flush();
        this.wake?.();
      });
  }

  /** The next step (null after the last). */
  async next(): Promise<Step | null> {
    while (this.head >= this.steps.length) {
      if (this.done) return null;
      await new Promise<void>((r) => { this.wake = r; });
      this.wake = null;
    }
    const s = this.steps[this.head]!;
    this.steps[this.head++] = null!;
    if (this.head > 4096 && this.head * 2 > this.steps.length) {
      this.steps = this.steps.slice(this.head);
      this.head = 0;
    }
    this.room?.();
    return s;
  }

  /** The writer is finished (or failed): the walk ends at its next step. */
  stop(): void {
    this.stopped = true;
    this.feed.close();
    this.room?.();
  }

  private push(s: Step): void {
    this.steps.push(s);
    this.wake?.();
  }

  private async walk(): Promise<void> {
    const entries = this.rootTree.entries;
    for (let ri = 0; ri < entries.length; ri++) {
      const e = entries[ri]!;
      const name = asBuffer(e.name);
      const state = this.sel.state(name);
      if (state === 'out') continue;
      await this.dir({ kind: 'dir', e, point: name, name, pos: { root: ri, comps: [] }, state, root: ri, count: state === 'in' && !this.sel.everything });
    }
  }

  private async dir(step: Step & { kind: 'dir' }): Promise<void> {
    this.push(step);
    try {
      await this.contents(step);
    } catch (error) {
      if (this.stopped) throw error;
      this.push({ kind: 'fail', error });
    }
    this.push({ kind: 'end' });
  }

  private async contents({ e, point, pos, state }: Step & { kind: 'dir' }): Promise<void> {
    checkAborted(this.signal);
    const where = showPath(point);
    const ahead = this.trees.get(e);
    this.trees.delete(e);
    if (!ahead?.ready) this.feed.flush(); // the Tree may take a while: let what is queued go out
    const tree = await (ahead?.p ?? fetchTree(this.downlink, e.chunks, where));
    checkTree(tree, where, false);
    // Entries passed are dropped from the decoded Tree (only entries[i..] are
    // read again, by prefetchTrees): a file's chunk list (a view per hash, ~100
    // bytes) then lives only from here until the file is written, not until
    // the whole folder is done (the bench's large/: six files, tens of thousands of hashes).
    const entries: (Entry | undefined)[] = tree.entries;
    let prefetched = 0;
    for (let i = 0; i < entries.length; i++) {
      if (this.stopped) throw new Error('restore: planner stopped');
      const c = entries[i]!;
      if (c.type !== EntryType.Dir) entries[i] = undefined;
      const name = asBuffer(c.name);
      const childPoint = joinPath(point, name);
      const childState = state === 'in' ? 'in' : this.sel.state(childPoint);
      if (childState === 'out') {
        entries[i] = undefined;
        continue;
      }
      const childPos = { root: pos.root, comps: [...pos.comps, name] };
      if (c.type === EntryType.Dir) {
        if (prefetched < entries.length) prefetched = this.prefetchTrees(entries, Math.max(i, prefetched), point, state);
        entries[i] = undefined;
        await this.dir({ kind: 'dir', e: c, point: childPoint, name, pos: childPos, state: childState, root: -1, count: childState === 'in' && state !== 'in' });
        continue;
      }
      if (childState !== 'in') continue;
      let queued = 0;
      if (c.type === EntryType.File && c.chunks.length > 0) {
        const wait = this.feed.room(this.aheadBytes);
        if (wait) await wait;
        this.feed.enqueue(c.chunks, childPoint, c.size);
        queued = c.chunks.length;
      }
      if (this.steps.length - this.head >= STEPS_AHEAD) {
        this.feed.flush();
        while (this.steps.length - this.head >= STEPS_AHEAD && !this.stopped) await new Promise<void>((r) => { this.room = r; });
        this.room = null;
      }
      this.push({ kind: 'leaf', e: c, point: childPoint, name, pos: childPos, queued, count: state !== 'in' && c.type === EntryType.File });
    }
  }

  /**
   * Requests the Trees of the selected sub-folders among entries[i..] (up to
   * TREES_AHEAD waiting at once, small Trees only); returns the index to
   * continue from. A Tree request waits behind the data requests already
   * queued at the server; asking early keeps the walk ahead of the writer.
   */
  private prefetchTrees(entries: (Entry | undefined)[], i: number, point: Buffer, state: Selected): number {
    let j = i;
    for (; j < entries.length && this.trees.size < TREES_AHEAD; j++) {
      const c = entries[j]!;
      if (c.type !== EntryType.Dir || c.chunks.length === 0 || c.chunks.length > PREFETCH_MAX_CHUNKS) continue;
      const childPoint = joinPath(point, asBuffer(c.name));
      if (state !== 'in' && this.sel.state(childPoint) === 'out') continue;
      const t = { p: fetchTree(this.downlink, c.chunks, showPath(childPoint)), ready: false };
      t.p.then(() => { t.ready = true; }, () => {}); // a failure is reported when the walk reaches the folder
      this.trees.set(c, t);
    }
    return j;
  }
}
