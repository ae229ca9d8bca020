/**
 * Which entries of a source folder are backed up (BackupCommand includes and
 * excludes). Each pattern is matched against the path relative to the source
 * folder and against the base name; a pattern starting with '/' against the
 * absolute path (util/glob.ts gives the syntax).
 *  - An entry matching an exclude is skipped; an excluded folder is not entered.
 *  - With no includes, everything else is kept. With includes, a file or symlink
 *    is kept if it, or a folder above it, matches one; a folder is entered when
 *    it matches or when an include could match something below it, and is then
 *    recorded (possibly empty) so that kept files keep their parents.
 * Names that are not valid UTF-8 are matched with U+FFFD in place of bad bytes.
 */
import { Glob } from '../util/glob.js';

export class PathFilter {
  private readonly includes: Glob[];
  private readonly excludes: Glob[];
  /** Does some include apply to base names (so that it could match at any depth)? */
  private readonly includeAnyDepth: boolean;

  constructor(includes: string[], excludes: string[], private readonly sourceSegs: string[]) {
    this.includes = includes.filter((p) => p.trim() !== '').map((p) => new Glob(p));
    this.excludes = excludes.filter((p) => p.trim() !== '').map((p) => new Glob(p));
    this.includeAnyDepth = this.includes.some((g) => g.singleSegment);
  }

  get hasIncludes(): boolean {
    return this.includes.length > 0;
  }

  excluded(rel: string[]): boolean {
    return this.excludes.some((g) => this.test(g, rel));
  }

  included(rel: string[]): boolean {
    return this.includes.length === 0 || this.includes.some((g) => this.test(g, rel));
  }

  /** Could an include match something below this (not itself included) folder? */
  mayIncludeBelow(rel: string[]): boolean {
    if (this.includeAnyDepth) return true;
    return this.includes.some((g) => g.couldMatchBelow(g.absolute ? [...this.sourceSegs, ...rel] : rel));
  }

  private test(g: Glob, rel: string[]): boolean {
    if (g.absolute) return g.matches([...this.sourceSegs, ...rel]);
    return g.matches(rel) || (g.singleSegment && rel.length > 0 && g.matches([rel[rel.length - 1]!]));
  }
}
