/**
 * Glob patterns for backup includes and excludes, matched segment by segment
 * against '/'-separated paths:
 *   `*`  any run of characters within one segment (dot files included),
 *   `?`  one character other than '/',
 *   `[abc]`, `[a-z]`, `[!a]` / `[^a]`  one character from (not from) a set,
 *   `**` as a whole segment: any number of segments, including none,
 *   `\x` the character x itself.
 * A pattern starting with '/' is anchored at the file system root; others are
 * matched against the path relative to the source folder. (Node 20's
 * path.matchesGlob is experimental and skips dot files, hence this module.)
 */

type Seg = { globstar: true } | { globstar: false; re: RegExp | null; literal: string };

export class Glob {
  readonly absolute: boolean;
  private readonly segs: Seg[];

  constructor(readonly pattern: string) {
    this.absolute = pattern.startsWith('/');
    // Empty segments ('//', a leading or trailing '/') carry no meaning here.
    this.segs = pattern.split('/').filter((s) => s !== '').map(compileSegment);
  }

  /** True if the pattern has a single segment (it then also applies to base names). */
  get singleSegment(): boolean {
    return this.segs.length === 1 && !this.segs[0]!.globstar;
  }

  /** Does the whole path (split into segments) match? */
  matches(path: string[]): boolean {
    return matchFrom(this.segs, 0, path, 0, false);
  }

  /** Could some path below this folder (given as segments) match? */
  couldMatchBelow(dir: string[]): boolean {
    return matchFrom(this.segs, 0, dir, 0, true);
  }
}

function matchFrom(segs: Seg[], si: number, path: string[], pi: number, prefix: boolean): boolean {
  while (si < segs.length) {
    const s = segs[si]!;
    if (s.globstar) {
      // Collapse consecutive globstars, then try every split point.
      while (si + 1 < segs.length && segs[si + 1]!.globstar) si++;
      if (si + 1 === segs.length) return true;
      for (let k = pi; k <= path.length; k++) if (matchFrom(segs, si + 1, path, k, prefix)) return true;
      return false;
    }
    if (pi === path.length) return prefix; // the path ended; more segments could follow below it
    if (!segMatches(s, path[pi]!)) return false;
    si++;
    pi++;
  }
  return pi === path.length && !prefix;
}

function segMatches(s: Extract<Seg, { globstar: false }>, name: string): boolean {
  return s.re ? s.re.test(name) : s.literal === name;
}

function compileSegment(seg: string): Seg {
  if (seg === '**') return { globstar: true };
  let re = '';
  let magic = false;
  let literal = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '\\' && i + 1 < seg.length) {
      literal += seg[i + 1];
      re += escapeRe(seg[++i]!);
    } else if (c === '*') {
      magic = true;
      while (seg[i + 1] === '*') i++;
      re += '[^/]*';
    } else if (c === '?') {
      magic = true;
      re += '[^/]';
    } else if (c === '[') {
      const end = classEnd(seg, i);
      if (end < 0) { literal += c; re += '\\['; continue; }
      magic = true;
      let body = seg.slice(i + 1, end);
      let neg = false;
      if (body.startsWith('!') || body.startsWith('^')) { neg = true; body = body.slice(1); }
      re += `[${neg ? '^' : ''}${body.replace(/[\\\]^]/g, (m) => `\\${m}`)}]`;
      i = end;
    } else {
      literal += c;
      re += escapeRe(c);
    }
  }
  return { globstar: false, re: magic ? new RegExp(`^${re}$`, 's') : null, literal };
}

/** Index of the ']' closing the class opened at seg[i], or -1. A ']' right after '[' or '[!' is literal. */
function classEnd(seg: string, i: number): number {
  let j = i + 1;
  if (seg[j] === '!' || seg[j] === '^') j++;
  if (seg[j] === ']') j++;
  for (; j < seg.length; j++) if (seg[j] === ']') return j;
  return -1;
}

function escapeRe(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}
