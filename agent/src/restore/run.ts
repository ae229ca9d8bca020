/** runRestore: one restore job from root hashes to files on disk (see index.ts for the contract). */
import { mkdir, realpath, unlink, type FileHandle } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { EntryType, type Entry, type Tree } from '@strata/protocol';
import { asBuffer, joinPath, showPath } from '../util/bytes.js';
import { AgentError, checkAborted, errCode } from '../util/errors.js';
import { Warnings } from '../util/warnings.js';
import { ChunkFeed, fetchTree } from './feed.js';
import { applyMeta, createFile, createHardlink, createSymlink, ensureDir, finishDir } from './fsops.js';
import { resolveLink, safeExistingFile, type LinkPos } from './links.js';
import { Selection, type Selected } from './select.js';
import { Syncer } from './syncer.js';
import { checkTree } from './validate.js';
import { DEFAULT_RESTORE_TUNING, type RestoreOptions, type RestoreResult, type RestoreTuning } from './types.js';

/** File-system errors that end the restore instead of becoming a warning about one entry. */
const FATAL = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 'EMFILE', 'ENFILE']);
const WRITE_GROUP_CHUNKS = 64;
const WRITE_GROUP_BYTES = 4 * 1024 * 1024;

export async function runRestore(opts: RestoreOptions): Promise<RestoreResult> {
  const tuning: RestoreTuning = { ...DEFAULT_RESTORE_TUNING, ...opts.tuning };
  const sel = new Selection(opts.paths);
  checkAborted(opts.signal);
  const target = await prepareTarget(opts.target);
  const rootTree = await fetchTree(opts.downlink, opts.root, 'the point root');
  checkTree(rootTree, 'the point root', true);
  const r = new Restorer(opts, tuning, sel, target, rootTree);
  let failure: unknown = null;
  try {
    await r.run();
  } catch (e) {
    failure = e;
  }
  // Files already written are made durable (or their fsync error reported) either way.
  await r.syncer.drain().catch((e) => { failure ??= e; });
  if (failure) throw failure;
  for (const p of sel.unmatched()) r.warnings.add(`${p}: not in the point; nothing restored for it`);
  return { files: r.files, bytes: r.bytes, warnings: r.warnings.result() };
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
  readonly syncer: Syncer;
  files = 0;
  bytes = 0;
  private bytesTotal = 0;
  private currentPath = '';
  private readonly feed: ChunkFeed;
  private readonly roots: Buffer[];
  /** Root folder destinations by root index (set when created). */
  private readonly rootDests: (Buffer | null)[];
  private readonly original: boolean;
  /** Hard-link targets outside the selection, restored as files at their first link: point path -> destination. */
  private readonly standIns = new Map<string, Buffer>();

  constructor(
    private readonly opts: RestoreOptions,
    private readonly tuning: RestoreTuning,
    private readonly sel: Selection,
    private readonly target: Buffer,
    private readonly rootTree: Tree,
  ) {
    this.feed = new ChunkFeed(opts.downlink, tuning.batchChunks, tuning.batchesInFlight, opts.signal);
    this.syncer = new Syncer(tuning.pendingSyncs);
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
        ok = (await ensureDir(dir, this.opts.overwrite, this.warnings.add, this.original, 0o755)) !== null;
      }
      if (!ok) continue;
      const dest = parts.length ? joinPath(dir, parts[parts.length - 1]!) : this.target;
      this.rootDests[ri] = dest;
      await this.dir(this.rootTree.entries[ri]!, dest, name, { root: ri, comps: [] }, state, this.original);
    }
  }

  private async dir(e: Entry, dest: Buffer, point: Buffer, pos: LinkPos, state: Selected, followLink: boolean): Promise<void> {
    checkAborted(this.opts.signal);
    this.progress(point);
    const made = await ensureDir(dest, this.opts.overwrite, this.warnings.add, followLink);
    if (!made) return;
    const where = showPath(point);
    const tree = await fetchTree(this.opts.downlink, e.chunks, where);
    checkTree(tree, where, false);
    const entries = tree.entries;
    let enqueued = 0; // entries[..enqueued) have their file chunks in the feed
    for (let i = 0; i < entries.length; i++) {
      const c = entries[i]!;
      const name = asBuffer(c.name);
      const childPoint = joinPath(point, name);
      const childState = state === 'in' ? 'in' : this.sel.state(childPoint);
      if (childState === 'out') continue;
      const childPos = { root: pos.root, comps: [...pos.comps, name] };
      if (c.type === EntryType.Dir) {
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
    const own = state === 'in' ? made === 'created' || this.opts.overwrite : made === 'created';
    await this.guard(dest, () => finishDir(dest, own ? e : null, this.warnings.add));
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
      await this.file(c, dest, this.feed);
      return;
    }
    if (c.type === EntryType.Symlink) {
      if (await this.guard(dest, () => createSymlink(dest, asBuffer(c.linkTarget), c, this.opts.overwrite, this.warnings.add))) this.files++;
      return;
    }
    return this.hardlink(c, dest, point, pos);
  }

  /** Writes one file from `feed`, taking exactly its chunks from it whatever happens to the file. */
  private async file(c: Entry, dest: Buffer, feed: ChunkFeed): Promise<boolean> {
    const n = c.chunks.length;
    const fh = await this.guard(dest, () => createFile(dest, this.opts.overwrite, this.warnings.add));
    if (!fh) {
      for (let k = 0; k < n; k++) await feed.take();
      return false;
    }
    let failed: unknown = null;
    let written = 0;
    try {
      let group: Buffer[] = [];
      let groupBytes = 0;
      for (let k = 0; k < n; k++) {
        const b = await feed.take();
        if (failed) continue;
        group.push(b);
        groupBytes += b.length;
        if (group.length >= WRITE_GROUP_CHUNKS || groupBytes >= WRITE_GROUP_BYTES || k === n - 1) {
          try {
            await writeAll(fh, group, groupBytes);
            written += groupBytes;
            this.bytes += groupBytes;
            this.progress();
          } catch (e) {
            failed = e;
          }
          group = [];
          groupBytes = 0;
        }
      }
      if (!failed) await applyMeta(fh, c, dest, this.warnings.add).catch((e) => { failed = e; });
    } catch (e) {
      // A corrupt chunk or a cancel: the restore ends; the partial file does not stay behind.
      await fh.close().catch(() => {});
      await unlink(dest).catch(() => {});
      throw e;
    }
    if (failed) {
      await fh.close().catch(() => {});
      await this.guard(dest, () => Promise.reject(failed));
      return false;
    }
    if (written !== c.size) this.warnings.add(`${showPath(dest)}: restored ${written} bytes, the point records ${c.size}`);
    await this.syncer.add(fh, dest);
    this.files++;
    return true;
  }

  private async hardlink(c: Entry, dest: Buffer, point: Buffer, pos: LinkPos): Promise<void> {
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
      if (await this.file(e, dest, feed)) this.standIns.set(key, dest);
      return;
    }
    if (await this.guard(dest, () => createHardlink(dest, existing, this.opts.overwrite, this.warnings.add))) this.files++;
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

  /** Runs one file-system step for `dest`; an error about this entry alone becomes a warning (and null). */
  private async guard<T>(dest: Buffer, fn: () => Promise<T>): Promise<T | null> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof AgentError) throw e;
      const code = errCode(e);
      if (code && FATAL.has(code)) throw new AgentError('TARGET_INVALID', `restore stopped at ${showPath(dest)}: ${(e as Error).message}`, { cause: e });
      this.warnings.add(`${showPath(dest)}: not restored (${code ?? (e as Error).message})`);
      return null;
    }
  }

  private progress(point?: Buffer): void {
    if (point) this.currentPath = showPath(point);
    this.opts.onProgress?.({ bytesRestored: this.bytes, filesRestored: this.files, bytesTotal: this.bytesTotal, currentPath: this.currentPath });
  }
}

async function writeAll(fh: FileHandle, bufs: Buffer[], total: number): Promise<void> {
  let { bytesWritten } = await fh.writev(bufs);
  if (bytesWritten === total) return;
  // Short write: finish byte-exactly with plain writes.
  const rest = Buffer.concat(bufs, total).subarray(bytesWritten);
  let off = 0;
  while (off < rest.length) {
    const r = await fh.write(rest, off, rest.length - off);
    off += r.bytesWritten;
  }
  bytesWritten += off;
}
