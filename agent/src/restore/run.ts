/** runRestore: one restore job from root hashes to files on disk (see index.ts for the contract). */
import { mkdir, realpath } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { EntryType, type Entry, type Tree } from '@strata/protocol';
import { asBuffer, joinPath, showPath } from '../util/bytes.js';
import { AgentError, checkAborted } from '../util/errors.js';
import { Warnings } from '../util/warnings.js';
import { ChunkFeed, fetchTree } from './feed.js';
import { createHardlink, createSymlink, ensureDir, finishDir } from './fsops.js';
import { resolveLink, safeExistingFile, type LinkPos } from './links.js';
import { Selection, type Selected } from './select.js';
import { FileWriter } from './writer.js';
import { checkTree } from './validate.js';
import { Durability } from './durable.js';

/** Sub-folder Trees requested ahead of the walk, and the largest Tree (in chunks) worth requesting early. */
const TREES_AHEAD = 32;
const PREFETCH_MAX_CHUNKS = 16;
import { DEFAULT_RESTORE_TUNING, type RestoreOptions, type RestoreResult, type RestoreTuning } from './types.js';

export async function runRestore(opts: RestoreOptions): Promise<RestoreResult> {
  const tuning: RestoreTuning = { ...DEFAULT_RESTORE_TUNING, ...opts.tuning };
  const sel = new Selection(opts.paths);
  checkAborted(opts.signal);
  const target = await prepareTarget(opts.target);
  const durable = await Durability.start(target, tuning.syncFs);
  const rootTree = await fetchTree(opts.downlink, opts.root, 'the point root');
  checkTree(rootTree, 'the point root', true);
  const r = new Restorer(opts, tuning, sel, target, rootTree, durable);
  let failure: unknown = null;
  try {
    await r.run();
  } catch (e) {
    failure = e;
  }
  // Files already written are made durable (or their fsync error reported) either way,
  // before the caller reports the restore done.
  await r.out.finish().catch((e) => { failure ??= e; });
  await durable.finish().catch((e) => { failure ??= e; });
  if (failure) throw failure;
  for (const p of sel.unmatched()) r.warnings.add(`${p}: not in the point; nothing restored for it`);
  return { files: r.out.files, bytes: r.out.bytes, warnings: r.warnings.result() };
}

async function prepareTarget(target: string): Promise<Buffer> {
  const t = target === '' ? '/' : target;
  if (!isAbsolute(t)) throw new AgentError('TARGET_INVALID', `restore target '${target}' is not an absolute path`);
  try {
    await mkdir(t, { recursive: true });
    return Buffer.from(await realpath(t));
  } catch (e) {
    throw new AgentError('TARGET_INVALID', `restore target ${t} cannot be used: ${(e as Error).message}`);
  }
}

class Restorer {
  readonly warnings = new Warnings();
  readonly out: FileWriter;
  private bytesTotal = 0;
  private currentPath = '';
  private readonly feed: ChunkFeed;
  private readonly roots: Buffer[];
  /** Root folder destinations by root index (set when created). */
  private readonly rootDests: (Buffer | null)[];
  private readonly original: boolean;
  /** Hard-link targets outside the selection, restored as files at their first link: point path -> destination. */
  private readonly standIns = new Map<string, Buffer>();
  /** Sub-folder Trees requested ahead of the walk (a folder's Tree is needed before any of its data can be). */
  private readonly trees = new Map<Entry, Promise<Tree>>();

  constructor(
    private readonly opts: RestoreOptions,
    private readonly tuning: RestoreTuning,
    private readonly sel: Selection,
    private readonly target: Buffer,
    private readonly rootTree: Tree,
    private readonly durable: Durability,
  ) {
    this.feed = new ChunkFeed(opts.downlink, tuning.batchChunks, tuning.batchesInFlight, opts.signal);
    this.out = new FileWriter(opts.overwrite, this.warnings, tuning, () => this.progress(), durable.perFile);
    this.roots = rootTree.entries.map((e) => asBuffer(e.name));
    this.rootDests = this.roots.map(() => null);
    this.original = target.length === 1 && target[0] === 0x2f;
    if (sel.everything) for (const e of rootTree.entries) this.bytesTotal += e.size;
  }

  async run(): Promise<void> {
    for (let ri = 0; ri < this.roots.length; ri++) {
      const name = this.roots[ri]!;
      const state = this.sel.state(name);
      if (state === 'out') continue;
      if (state === 'in' && !this.sel.everything) this.bytesTotal += this.rootTree.entries[ri]!.size;
      // The folders leading to the root folder: not point entries, created plainly if missing.
      const parts = name.length === 1 ? [] : name.subarray(1).toString('latin1').split('/').map((s) => Buffer.from(s, 'latin1'));
      let dir = this.target;
      let ok = true;
      for (let k = 0; k < parts.length - 1 && ok; k++) {
        dir = joinPath(dir, parts[k]!);
        const made = await this.out.guard(dir, () => ensureDir(dir, this.opts.overwrite, this.warnings.add, this.original, 0o755));
        if (made === 'existing') await this.durable.note(dir);
        ok = made !== null;
      }
      if (!ok) continue;
      let dest = parts.length ? joinPath(dir, parts[parts.length - 1]!) : this.target;
      // At the original location the root folder's own path may lead through symlinks (e.g. /home -> /data/home).
      if (this.original) dest = await realpath(dest, { encoding: 'buffer' }).catch(() => dest);
      this.rootDests[ri] = dest;
      await this.dir(this.rootTree.entries[ri]!, dest, name, { root: ri, comps: [] }, state, this.original);
    }
  }

  private async dir(e: Entry, dest: Buffer, point: Buffer, pos: LinkPos, state: Selected, followLink: boolean): Promise<void> {
    checkAborted(this.opts.signal);
    this.progress(point);
    const ahead = this.trees.get(e);
    this.trees.delete(e);
    const made = await this.out.guard(dest, () => ensureDir(dest, this.opts.overwrite, this.warnings.add, followLink));
    if (!made) return;
    if (made === 'existing') await this.durable.note(dest);
    const where = showPath(point);
    const tree = await (ahead ?? fetchTree(this.opts.downlink, e.chunks, where));
    checkTree(tree, where, false);
    const entries = tree.entries;
    let prefetched = 0; // entries[..prefetched) have had their Trees requested if wanted
    let enqueued = 0; // entries[..enqueued) have their file chunks in the feed
    for (let i = 0; i < entries.length; i++) {
      const c = entries[i]!;
      const name = asBuffer(c.name);
      const childPoint = joinPath(point, name);
      const childState = state === 'in' ? 'in' : this.sel.state(childPoint);
      if (childState === 'out') continue;
      const childPos = { root: pos.root, comps: [...pos.comps, name] };
      if (c.type === EntryType.Dir) {
        if (prefetched < entries.length) prefetched = this.prefetchTrees(entries, Math.max(i, prefetched), point, state);
        if (childState === 'in' && state !== 'in') this.bytesTotal += c.size;
        await this.dir(c, joinPath(dest, name), childPoint, childPos, childState, false);
        continue;
      }
      if (childState !== 'in') continue;
      if (state !== 'in' && c.type === EntryType.File) this.bytesTotal += c.size;
      if (i >= enqueued) enqueued = this.enqueueRun(entries, i, point, state);
      await this.leaf(c, joinPath(dest, name), childPoint, childPos);
    }
    // Folder metadata after its contents (their creation changed its mtime).
    await this.out.settle();
    const own = state === 'in' ? made === 'created' || this.opts.overwrite : made === 'created';
    await this.out.guard(dest, () => finishDir(dest, own ? e : null, this.warnings.add, this.durable.perFile));
  }

  /**
   * Requests the Trees of the selected sub-folders among entries[i..] (up to
   * TREES_AHEAD waiting at once, small Trees only); returns the index to
   * continue from. Without this every folder costs a round trip (behind the
   * data requests already queued at the server) before its files can start.
   */
  private prefetchTrees(entries: Entry[], i: number, point: Buffer, state: Selected): number {
    let j = i;
    for (; j < entries.length && this.trees.size < TREES_AHEAD; j++) {
      const c = entries[j]!;
      if (c.type !== EntryType.Dir || c.chunks.length === 0 || c.chunks.length > PREFETCH_MAX_CHUNKS) continue;
      const childPoint = joinPath(point, asBuffer(c.name));
      if (state !== 'in' && this.sel.state(childPoint) === 'out') continue;
      const p = fetchTree(this.opts.downlink, c.chunks, showPath(childPoint));
      p.catch(() => {}); // reported when the walk reaches the folder
      this.trees.set(c, p);
    }
    return j;
  }

  /** Enqueues the chunks of the selected files from entries[i] to the next folder; returns that index. */
  private enqueueRun(entries: Entry[], i: number, point: Buffer, state: Selected): number {
    let j = i;
    for (; j < entries.length && entries[j]!.type !== EntryType.Dir; j++) {
      const c = entries[j]!;
      if (c.type !== EntryType.File || c.chunks.length === 0) continue;
      const childPoint = joinPath(point, asBuffer(c.name));
      if (state === 'in' || this.sel.state(childPoint) === 'in') this.feed.enqueue(c.chunks, showPath(childPoint));
    }
    return j;
  }

  private async leaf(c: Entry, dest: Buffer, point: Buffer, pos: LinkPos): Promise<void> {
    checkAborted(this.opts.signal);
    this.progress(point);
    if (c.type === EntryType.File) {
      await this.out.file(c, dest, this.feed);
      return;
    }
    if (c.type === EntryType.Symlink) {
      if (await this.out.guard(dest, () => createSymlink(dest, asBuffer(c.linkTarget), c, this.opts.overwrite, this.warnings.add))) this.out.files++;
      return;
    }
    return this.hardlink(c, dest, point, pos);
  }

  private async hardlink(c: Entry, dest: Buffer, point: Buffer, pos: LinkPos): Promise<void> {
    await this.out.settle(); // the first name may still be being written
    const t = asBuffer(c.linkTarget);
    const at = resolveLink(t, this.roots, pos, showPath(point));
    const key = t.toString('latin1');
    let existing: Buffer | null = this.standIns.get(key) ?? null;
    if (!existing && this.sel.state(t) === 'in') {
      const rootDest = this.rootDests[at.root];
      existing = rootDest ? await safeExistingFile(rootDest, at.comps) : null;
      if (!existing) {
        this.warnings.add(`${showPath(dest)}: hard link target ${showPath(t)} was not restored; link skipped`);
        return;
      }
    }
    if (!existing) {
      // The first name is outside the selection: restore the content here, once.
      const e = await this.lookup(at, showPath(t));
      const feed = new ChunkFeed(this.opts.downlink, this.tuning.batchChunks, this.tuning.batchesInFlight, this.opts.signal);
      feed.enqueue(e.chunks, showPath(t));
      if (await this.out.file(e, dest, feed, true)) this.standIns.set(key, dest);
      return;
    }
    if (await this.out.guard(dest, () => createHardlink(dest, existing, this.opts.overwrite, this.warnings.add))) this.out.files++;
  }

  /** The File entry at a point position (for a hard link whose first name is not being restored). */
  private async lookup(at: LinkPos, where: string): Promise<Entry> {
    let e = this.rootTree.entries[at.root]!;
    let point = this.roots[at.root]!;
    for (const name of at.comps) {
      if (e.type !== EntryType.Dir) break;
      const tree = await fetchTree(this.opts.downlink, e.chunks, showPath(point));
      checkTree(tree, showPath(point), false);
      const found = tree.entries.find((x) => asBuffer(x.name).equals(name));
      if (!found) throw new AgentError('TREE_INVALID', `refusing to restore: hard link target ${where} is not in the point`);
      e = found;
      point = joinPath(point, name);
    }
    if (e.type !== EntryType.File) throw new AgentError('TREE_INVALID', `refusing to restore: hard link target ${where} is not a regular file`);
    return e;
  }

  private progress(point?: Buffer): void {
    if (point) this.currentPath = showPath(point);
    this.opts.onProgress?.({ bytesRestored: this.out.bytes, filesRestored: this.out.files, bytesTotal: this.bytesTotal, currentPath: this.currentPath });
  }
}
