/**
 * The fields of a bigint stat the backup uses (entry.ts statEntry, file.ts's
 * comparisons), rebuilt from an array made elsewhere: by the file worker (a
 * BigIntStats does not cross threads) or by the native addon's readSmall.
 * Order: dev, ino, mode, nlink, uid, gid, size, mtimeNs, ctimeNs.
 */
import type { BigIntStats } from 'node:fs';

const S_IFMT = 0o170000n;

class StatFields {
  readonly dev: bigint; readonly ino: bigint; readonly mode: bigint; readonly nlink: bigint;
  readonly uid: bigint; readonly gid: bigint; readonly size: bigint; readonly mtimeNs: bigint; readonly ctimeNs: bigint;
  constructor(a: ArrayLike<bigint>) {
    this.dev = a[0]!; this.ino = a[1]!; this.mode = a[2]!; this.nlink = a[3]!;
    this.uid = a[4]!; this.gid = a[5]!; this.size = a[6]!; this.mtimeNs = a[7]!; this.ctimeNs = a[8]!;
  }
  private is(t: bigint): boolean { return (this.mode & S_IFMT) === t; }
  isFile(): boolean { return this.is(0o100000n); }
  isDirectory(): boolean { return this.is(0o040000n); }
  isSymbolicLink(): boolean { return this.is(0o120000n); }
  isFIFO(): boolean { return this.is(0o010000n); }
  isSocket(): boolean { return this.is(0o140000n); }
  isCharacterDevice(): boolean { return this.is(0o020000n); }
  isBlockDevice(): boolean { return this.is(0o060000n); }
}

/** A BigIntStats-shaped view of the nine fields (only those fields and the type tests exist). */
export const statsFrom = (a: ArrayLike<bigint>): BigIntStats => new StatFields(a) as unknown as BigIntStats;
