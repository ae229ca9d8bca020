/**
 * Checks on every Tree the restorer reads: a tree is data from the server and
 * may be hostile. A failed check is a TREE_INVALID error: the restore stops
 * before writing anything that the entry would have named.
 */
import { EntryType, HASH_BYTES, type Entry, type Tree } from '@strata/protocol';
import { asBuffer, showPath } from '../util/bytes.js';
import { AgentError } from '../util/errors.js';

const SLASH = 0x2f;
const TYPES = new Set<number>([EntryType.File, EntryType.Dir, EntryType.Symlink, EntryType.Hardlink]);

function bad(where: string, why: string): never {
  throw new AgentError('TREE_INVALID', `refusing to restore ${where}: ${why}`);
}

/** A name inside a folder: not empty, '.', '..', and without '/' or NUL. */
export function checkName(name: Buffer, where: string): void {
  if (name.length === 0) bad(where, 'an entry has an empty name');
  if (name.equals(DOT) || name.equals(DOTDOT)) bad(where, `an entry is named '${name.toString()}'`);
  if (name.includes(SLASH)) bad(where, `entry name '${showPath(name)}' contains '/'`);
  if (name.includes(0)) bad(where, `entry name '${showPath(name)}' contains a NUL byte`);
}

/** A root entry name: a normalized absolute path ('/', or '/a/b' without empty, '.' or '..' parts, NUL). */
export function checkRootName(name: Buffer): void {
  const where = `root entry '${showPath(name)}'`;
  if (name.length === 0 || name[0] !== SLASH) bad('the point', `${where} is not an absolute path`);
  if (name.includes(0)) bad('the point', `${where} contains a NUL byte`);
  if (name.length === 1) return;
  for (const part of splitBytes(name.subarray(1))) {
    if (part.length === 0 || part.equals(DOT) || part.equals(DOTDOT)) bad('the point', `${where} is not a normalized path`);
  }
}

/** Entries strictly sorted by name bytes (so no duplicates), known types, 32-byte hashes, valid names. */
export function checkTree(tree: Tree, where: string, isRoot: boolean): void {
  let prev: Buffer | null = null;
  for (const e of tree.entries) {
    const name = asBuffer(e.name);
    if (isRoot) checkRootName(name); else checkName(name, where);
    if (prev) {
      const c = Buffer.compare(prev, name);
      if (c === 0) bad(where, `duplicate entry name '${showPath(name)}'`);
      if (c > 0) bad(where, `entries are not sorted ('${showPath(prev)}' before '${showPath(name)}')`);
    }
    prev = name;
    checkEntry(e, name, where, isRoot);
  }
  if (isRoot) checkRootsDisjoint(tree.entries.map((e) => asBuffer(e.name)));
}

function checkEntry(e: Entry, name: Buffer, where: string, isRoot: boolean): void {
  const at = `${where}/${showPath(name)}`;
  if (!TYPES.has(e.type)) bad(at, `unknown entry type ${String(e.type)}`);
  if (isRoot && e.type !== EntryType.Dir) bad(at, 'a root entry is not a folder');
  for (const h of e.chunks) if (h.length !== HASH_BYTES) bad(at, `a chunk hash has ${h.length} bytes`);
  if (!Number.isSafeInteger(e.size) || e.size < 0) bad(at, `invalid size ${String(e.size)}`);
  if (e.type === EntryType.Symlink || e.type === EntryType.Hardlink) {
    if (e.linkTarget.length === 0) bad(at, 'link without a target');
    if (asBuffer(e.linkTarget).includes(0)) bad(at, 'link target contains a NUL byte');
  }
}

/** No root entry may lie inside another (their restores would overlap). */
function checkRootsDisjoint(names: Buffer[]): void {
  for (const a of names) {
    for (const b of names) {
      if (a === b) continue;
      const inside = a.length === 1 || (b.length > a.length && b[a.length] === SLASH && b.subarray(0, a.length).equals(a));
      if (inside) bad('the point', `root entries '${showPath(a)}' and '${showPath(b)}' overlap`);
    }
  }
}

export function splitBytes(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= b.length; i++) {
    if (i === b.length || b[i] === SLASH) {
      out.push(b.subarray(start, i));
      start = i + 1;
    }
  }
  return out;
}

const DOT = Buffer.from('.');
const DOTDOT = Buffer.from('..');
