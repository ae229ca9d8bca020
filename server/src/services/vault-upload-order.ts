/**
 * The order an upload sends a point's chunks in: where they sit in the
 * server's chunk store (pack id, then offset), which is the order the
 * backups wrote them — file by file, each file's chunks in sequence. A
 * point's ref list is sorted by SHA-256; packing new chunks in that order
 * would scatter every file over all of the vault's packs, and a restore,
 * which asks for a file's chunks in sequence, could merge almost no reads
 * (one ranged GET per chunk: 133 s against 26 s for a 256 MiB restore from
 * Azurite). Store order keeps a file's chunks next to each other in the
 * vault's packs too.
 *
 * Memory: 32 bytes per reference plus 12 of sort keys, in flat arrays (the
 * uploader keeps 32 bytes per reference anyway). A chunk the store cannot
 * locate (none should be missing: the upload reads them next) goes last, in
 * ref-list order, so that the uploader reports it as it would have.
 */
import type { ChunkStore } from '../chunk-store/index.js';

const HASH = 32;

export function inStoreOrder(store: Pick<ChunkStore, 'locate'>, refs: Iterable<Buffer>): Iterable<Buffer> {
  let hashes = Buffer.allocUnsafe(HASH * 4096);
  let pack = new Uint32Array(4096);
  let offset = new Float64Array(4096);
  let n = 0;
  for (const h of refs) {
    if (n === pack.length) {
      const grow = <T extends Uint32Array | Float64Array>(a: T, make: (len: number) => T): T => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      pack = grow(pack, (l) => new Uint32Array(l));
      offset = grow(offset, (l) => new Float64Array(l));
      const bigger = Buffer.allocUnsafe(hashes.length * 2);
      hashes.copy(bigger, 0, 0, n * HASH);
      hashes = bigger;
    }
    h.copy(hashes, n * HASH);
    const loc = store.locate(h);
    pack[n] = loc ? loc.packId : 0xffffffff;
    offset[n] = loc ? loc.offset : n;
    n++;
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => pack[a]! - pack[b]! || offset[a]! - offset[b]!);
  return (function* () {
    for (let i = 0; i < n; i++) yield hashes.subarray(order[i]! * HASH, order[i]! * HASH + HASH);
  })();
}
