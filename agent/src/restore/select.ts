/**
 * Which entries a restore writes. `paths` are absolute original paths (as
 * the point names them: root entry name + '/' + names below it); each selects
 * itself and everything below it, and the folders leading to it are created.
 */
import { AgentError } from '../util/errors.js';

export type Selected = 'in' | 'ancestor' | 'out';

export class Selection {
  private readonly paths: Buffer[];
  private readonly hit: boolean[];

  constructor(paths: string[]) {
    this.paths = paths.map(normalizeSelected).map((p) => Buffer.from(p));
    this.hit = this.paths.map(() => false);
  }

  get everything(): boolean {
    return this.paths.length === 0;
  }

  /** Where the entry at point path `p` stands relative to the selection. */
  state(p: Buffer): Selected {
    if (this.paths.length === 0) return 'in';
    let ancestor = false;
    for (let i = 0; i < this.paths.length; i++) {
      const s = this.paths[i]!;
      if (under(p, s)) {
        this.hit[i] = true;
        return 'in';
      }
      if (under(s, p)) ancestor = true;
    }
    return ancestor ? 'ancestor' : 'out';
  }

  /** Selected paths that named nothing in the point (for warnings). */
  unmatched(): string[] {
    return this.paths.filter((_, i) => !this.hit[i]).map((p) => p.toString());
  }
}

/** Is `p` equal to `s` or below it? */
export function under(p: Buffer, s: Buffer): boolean {
  if (s.length === 1 && s[0] === 0x2f) return p.length > 0 && p[0] === 0x2f;
  return p.length >= s.length && p.subarray(0, s.length).equals(s) && (p.length === s.length || p[s.length] === 0x2f);
}

function normalizeSelected(p: string): string {
  if (!p.startsWith('/')) throw new AgentError('TARGET_INVALID', `restore path '${p}' is not an absolute original path`);
  const parts = p.split('/').filter((x) => x !== '');
  if (parts.some((x) => x === '.' || x === '..' || x.includes('\0'))) {
    throw new AgentError('TARGET_INVALID', `restore path '${p}' has '.', '..' or NUL in it`);
  }
  return `/${parts.join('/')}`;
}
