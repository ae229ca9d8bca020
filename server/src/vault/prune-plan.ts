/**
 * The pure half of pruning (docs/vault-format.md §8.11): given every pack's
 * index and the set of chunk ids still referenced by a remaining point,
 * decide which packs are kept, deleted (nothing live) or rewritten (live
 * share by bytes below the threshold), and which live blobs the rewrite
 * copies — each chunk once, and not at all when a kept pack already holds it.
 */
import type { BlobEntry, PackIndex } from './index-format.js';

export interface PackPlan {
  /** Packs left as they are. */
  keep: PackIndex[];
  /** Packs holding no live chunk: their index, then the pack, are deleted. */
  remove: PackIndex[];
  /** Packs whose live share is below the threshold: live blobs copied out, then deleted. */
  rewrite: PackIndex[];
  /** Per rewritten pack (same order), the entries to copy into new packs. */
  copy: BlobEntry[][];
}

/** Live share of a pack: bytes of its live blobs over bytes of all its blobs (0 for an empty pack). */
export function liveShare(ix: PackIndex, live: ReadonlySet<string>): number {
  let all = 0;
  let alive = 0;
  for (const e of ix.entries) {
    all += e.length;
    if (live.has(e.id.toString('latin1'))) alive += e.length;
  }
  return all === 0 ? 0 : alive / all;
}

/**
 * `live` holds chunk ids as latin1 strings. `rewriteBelow` in [0, 1]: 0 never
 * rewrites, 1 rewrites every pack with any dead blob.
 */
export function planPrune(packs: PackIndex[], live: ReadonlySet<string>, rewriteBelow: number): PackPlan {
  const plan: PackPlan = { keep: [], remove: [], rewrite: [], copy: [] };
  for (const ix of packs) {
    const share = liveShare(ix, live);
    if (share === 0) plan.remove.push(ix);
    else if (share < rewriteBelow && share < 1) plan.rewrite.push(ix);
    else plan.keep.push(ix);
  }
  const held = new Set<string>();
  for (const ix of plan.keep) for (const e of ix.entries) held.add(e.id.toString('latin1'));
  for (const ix of plan.rewrite) {
    const out: BlobEntry[] = [];
    for (const e of ix.entries) {
      const k = e.id.toString('latin1');
      if (!live.has(k) || held.has(k)) continue;
      held.add(k);
      out.push(e);
    }
    plan.copy.push(out);
  }
  return plan;
}
