/** runRestore: one restore job from root hashes to files on disk (see index.ts for the contract). */
import { mkdir, realpath } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { EntryType, type Entry, type Tree } from '@strata/protocol';

type DirStep = Step & { kind: 'dir' };
import { asBuffer, joinPath, showPath } from '../util/bytes.js';
import { AgentError, checkAborted } from '../util/errors.js';
import { Warnings } from '../util/warnings.js';
import { ChunkFeed, fetchTree } from './feed.js';
import { Planner, type Step } from './plan.js';
import { createHardlink, createSymlink, ensureDir, finishDir } from './fsops.js';
import { resolveLink, safeExistingFile, type LinkPos } from './links.js';
import { Selection } from './select.js';
import { FileWriter } from './writer.js';
import { checkTree } from './validate.js';
import { Durability } from './durable.js';

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
  /** The entry being restored (its point path), for progress. */
  private currentPoint: Buffer | null = null;
  private readonly feed: ChunkFeed;
  private readonly roots: Buffer[];
  /** Root folder destinations by root index (set when created). */
  private readonly rootDests: (Buffer | null)[];
  private readonly original: boolean;
  /** Hard-link targets outside the selection, restored as files at their first link: point path -> destination. */
  private readonly standIns = new Map<string, Buffer>();
  private readonly planner: Planner;

  constructor(
    private readonly opts: RestoreOptions,
    private readonly tuning: RestoreTuning,
    private readonly sel: Selection,
    private readonly target: Buffer,
    private readonly rootTree: Tree,
    private readonly durable: Durability,
  ) {
    this.feed = new ChunkFeed(opts.downlink, tuning, opts.signal);
    this.planner = new Planner(opts.downlink, this.feed, sel, rootTree, tuning.aheadBytes, opts.signal);
    this.out = new FileWriter(opts.overwrite, this.warnings, tuning, () => this.progress(), durable.perFile);
    this.roots = rootTree.entries.map((e) => asBuffer(e.name));
    this.rootDests = this.roots.map(() => null);
    this.original = target.length === 1 && target[0] === 0x2f;
    if (sel.everything) for (const e of rootTree.entries) this.bytesTotal += e.size;
  }

  async run(): Promise<void> {
    this.planner.start();
    try {
      for (let s = await this.planner.next(); s; s = await this.planner.next()) {
        if (s.kind === 'fail') throw s.error;
        if (s.kind !== 'dir' || s.root < 0) throw new Error('restore: plan out of step');
        await this.root(s);
      }
    } finally {
      this.planner.stop();
    }
  }

  private async root(s: DirStep): Promise<void> {
    const name = s.name;
    if (s.count) this.bytesTotal += s.e.size;
    // The folders leading to the root folder: not point entries, created plainly if missing.
    const parts = name.length === 1 ? [] : name.subarray(1).toString('latin1').split('/').map((p) => Buffer.from(p, 'latin1'));
    let dir = this.target;
    for (let k = 0; k < parts.length - 1; k++) {
      dir = joinPath(dir, parts[k]!);
      const made = await this.out.guard(dir, () => ensureDir(dir, this.opts.overwrite, this.warnings.add, this.original, 0o755));
      if (made === 'existing') await this.durable.note(dir);
      if (made === null) return this.skip();
    }
    let dest = parts.length ? joinPath(dir, parts[parts.length - 1]!) : this.target;
    // At the original location the root folder's own path may lead through symlinks (e.g. /home -> /data/home).
    if (this.original) dest = await realpath(dest, { encoding: 'buffer' }).catch(() => dest);
    this.rootDests[s.root] = dest;
    await this.dir(s, dest, this.original);
  }

  /** Restores the folder of step `s` and its contents (the planner's steps up to the matching 'end'). */
  private async dir(s: DirStep, dest: Buffer, followLink: boolean): Promise<void> {
    checkAborted(this.opts.signal);
    this.progress(s.point);
    const made = await this.out.guard(dest, () => ensureDir(dest, this.opts.overwrite, this.warnings.add, followLink));
    if (!made) return this.skip();
    if (made === 'existing') await this.durable.note(dest);
    for (;;) {
      const c = await this.planner.next();
      if (!c) throw new Error('restore: plan ended inside a folder');
      if (c.kind === 'end') break;
      if (c.kind === 'fail') throw c.error;
      if (c.count) this.bytesTotal += c.e.size;
      if (c.kind === 'dir') await this.dir(c, joinPath(dest, c.name), false);
      else await this.leaf(c.e, joinPath(dest, c.name), c.point, c.pos);
    }
    // Folder metadata after its contents (their creation changed its mtime).
    await this.out.settle();
    const own = s.state === 'in' ? made === 'created' || this.opts.overwrite : made === 'created';
    await this.out.guard(dest, () => finishDir(dest, own ? s.e : null, this.warnings.add, this.durable.perFile));
  }

  /** Passes over the contents of a folder that is not restored (after its 'dir' step), dropping their chunks. */
  private async skip(): Promise<void> {
    for (let depth = 1; depth > 0;) {
      const c = await this.planner.next();
      if (!c) return;
      if (c.kind === 'dir') depth++;
      else if (c.kind === 'end') depth--;
      else if (c.kind === 'leaf') this.feed.skip(c.queued);
    }
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
      const feed = new ChunkFeed(this.opts.downlink, this.tuning, this.opts.signal);
      feed.enqueue(e.chunks, showPath(t), e.size);
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
    if (point) this.currentPoint = point;
    if (!this.opts.onProgress) return;
    // The readable path is made only if the report is sent (reports are throttled; entries are many).
    const at = this.currentPoint;
    this.opts.onProgress({
      bytesRestored: this.out.bytes, filesRestored: this.out.files, bytesTotal: this.bytesTotal,
      get currentPath() { return at ? showPath(at) : ''; },
    });
  }
}
