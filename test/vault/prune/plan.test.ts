/** planPrune, the pure half of pruning: which packs are kept, deleted or rewritten, and what is copied (a table). */
import { describe, expect, it } from 'vitest';
import type { PackIndex } from '../../../server/src/vault/index-format.js';
import { liveShare, planPrune } from '../../../server/src/vault/prune-plan.js';

const id = (n: number) => Buffer.alloc(32, n);
/** A pack of chunks `ids`, each blob `size` bytes (default 100). */
function pack(name: string, ids: number[], size = 100): PackIndex {
  return { packId: name.padEnd(32, '0'), packSize: 0, entries: ids.map((n, i) => ({ id: id(n), offset: 16 + i * size, length: size, rawSize: size, compression: 0 })) };
}
const liveOf = (ids: number[]) => new Set(ids.map((n) => id(n).toString('latin1')));
const names = (l: PackIndex[]) => l.map((p) => p.packId.replace(/0+$/, ''));

describe('planPrune', () => {
  const cases: { why: string; packs: PackIndex[]; live: number[]; below: number; keep: string[]; remove: string[]; rewrite: string[]; copy: number[][] }[] = [
    { why: 'nothing live: deleted', packs: [pack('a', [1, 2])], live: [], below: 0.5, keep: [], remove: ['a'], rewrite: [], copy: [] },
    { why: 'all live: kept', packs: [pack('a', [1, 2])], live: [1, 2], below: 1, keep: ['a'], remove: [], rewrite: [], copy: [] },
    { why: 'half live at 0.5: kept (below means below)', packs: [pack('a', [1, 2])], live: [1], below: 0.5, keep: ['a'], remove: [], rewrite: [], copy: [] },
    { why: 'a quarter live: rewritten', packs: [pack('a', [1, 2, 3, 4])], live: [3], below: 0.5, keep: [], remove: [], rewrite: ['a'], copy: [[3]] },
    { why: 'threshold 0 never rewrites', packs: [pack('a', [1, 2, 3, 4])], live: [3], below: 0, keep: ['a'], remove: [], rewrite: [], copy: [] },
    { why: 'share is by bytes, not by count', packs: [{ ...pack('a', [1]), entries: [...pack('a', [1], 900).entries, ...pack('a', [2, 3]).entries.map((e, i) => ({ ...e, offset: 916 + i * 100 }))] }], live: [1], below: 0.5, keep: ['a'], remove: [], rewrite: [], copy: [] },
    { why: 'a live chunk a kept pack holds is not copied', packs: [pack('a', [1, 2]), pack('b', [1, 5, 6, 7])], live: [1, 2], below: 0.5, keep: ['a'], remove: [], rewrite: ['b'], copy: [[]] },
    { why: 'a chunk in two rewritten packs is copied once', packs: [pack('a', [1, 2, 3, 4]), pack('b', [1, 5, 6, 7])], live: [1], below: 0.5, keep: [], remove: [], rewrite: ['a', 'b'], copy: [[1], []] },
    { why: 'an empty pack is dead', packs: [pack('a', [])], live: [1], below: 0.5, keep: [], remove: ['a'], rewrite: [], copy: [] },
  ];
  for (const c of cases) {
    it(c.why, () => {
      const plan = planPrune(c.packs, liveOf(c.live), c.below);
      expect(names(plan.keep)).toEqual(c.keep);
      expect(names(plan.remove)).toEqual(c.remove);
      expect(names(plan.rewrite)).toEqual(c.rewrite);
      expect(plan.copy.map((l) => l.map((e) => e.id[0]))).toEqual(c.copy);
    });
  }

  it('liveShare', () => {
    expect(liveShare(pack('a', [1, 2, 3, 4]), liveOf([1, 2, 3]))).toBe(0.75);
    expect(liveShare(pack('a', []), liveOf([1]))).toBe(0);
  });
});
