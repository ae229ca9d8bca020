/** Protocol Entry fields from a bigint lstat, and the "is this file unchanged?" rule. */
import type { BigIntStats } from 'node:fs';
import { EntryType, type Entry } from '@strata/protocol';

const NS = 1_000_000_000n;

/** Seconds and nanoseconds (0..999999999) of a bigint nanosecond timestamp, flooring for times before 1970. */
export function splitNs(ns: bigint): [number, number] {
  let sec = ns / NS;
  let nsec = ns % NS;
  if (nsec < 0n) { sec -= 1n; nsec += NS; }
  return [Number(sec), Number(nsec)];
}

export function statEntry(name: Buffer, type: EntryType, st: BigIntStats): Entry {
  const [mtimeSec, mtimeNsec] = splitNs(st.mtimeNs);
  const [ctimeSec, ctimeNsec] = splitNs(st.ctimeNs);
  return {
    name, type,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid), gid: Number(st.gid),
    mtimeSec, mtimeNsec, ctimeSec, ctimeNsec,
    inode: Number(st.ino),
    size: type === EntryType.Dir ? 0 : Number(st.size),
    linkTarget: Buffer.alloc(0),
    chunks: [],
  };
}

/**
 * A regular file is unchanged when size, mtime, ctime and inode all equal the
 * previous point's entry; its chunk list is then reused without reading it.
 * (ctime catches writes that restore the mtime; a previous ctime of 0 marks a
 * file that was too recently changed to be trusted, and never matches.)
 */
export function unchanged(prev: Entry | undefined, cur: Entry): boolean {
  return prev !== undefined && prev.type === EntryType.File
    && prev.size === cur.size && prev.mtimeSec === cur.mtimeSec && prev.mtimeNsec === cur.mtimeNsec
    && prev.ctimeSec === cur.ctimeSec && prev.ctimeNsec === cur.ctimeNsec && prev.inode === cur.inode
    && (prev.ctimeSec !== 0 || prev.ctimeNsec !== 0)
    && (prev.chunks.length > 0 || prev.size === 0);
}

/** Clears ctime (so the next backup re-reads the file) when it is within `windowMs` of `nowMs`. */
export function markRacy(e: Entry, nowMs: number, windowMs: number): void {
  const ctimeMs = e.ctimeSec * 1000 + e.ctimeNsec / 1e6;
  if (ctimeMs >= nowMs - windowMs) {
    e.ctimeSec = 0;
    e.ctimeNsec = 0;
  }
}
