/**
 * Verification: re-read chunks and re-hash them. Chunks are checked in
 * batches sorted by (pack, offset) so reads go forward through each pack.
 */
import { hex } from './codec.js';
import { readEntry } from './entry.js';
import type { Layout } from './layout.js';
import type { ChunkLocation, VerifyDamage, VerifyProgress, VerifyResult } from './types.js';

export interface VerifyHost {
  layout: Layout;
  lookup(hash: Buffer): ChunkLocation | undefined;
  /** Undefined when the chunk reads back intact, null when it is no longer stored (gc), else why not. */
  check(hash: Buffer, loc: ChunkLocation): Promise<string | undefined | null>;
  /** Every index entry in hash order. */
  scanAll(fn: (buf: Buffer, at: number) => void | Promise<void>): Promise<void>;
}

const BATCH = 1024;

export async function verifyChunks(
  host: VerifyHost, hashes?: AsyncIterable<Buffer> | Iterable<Buffer>, onProgress?: VerifyProgress,
): Promise<VerifyResult> {
  const damaged: VerifyDamage[] = [];
  let checked = 0;
  let batch: Array<{ hash: Buffer; loc: ChunkLocation }> = [];
  const explicit = hashes !== undefined;
  const run = async (): Promise<void> => {
    const b = batch;
    batch = [];
    b.sort((x, y) => x.loc.packId - y.loc.packId || x.loc.offset - y.loc.offset);
    for (const { hash, loc } of b) {
      const reason = await host.check(hash, loc);
      if (reason === null) {
        // removed by a concurrent gc: damage only if the caller asked for this chunk
        if (explicit) damaged.push({ hash: hex(hash), pack: host.layout.packLabel(loc.packId), reason: 'missing: removed while verifying' });
        else continue;
      } else if (reason) damaged.push({ hash: hex(hash), pack: host.layout.packLabel(loc.packId), reason });
      checked++;
    }
    onProgress?.({ checked, damaged: damaged.length });
  };
  const add = (hash: Buffer, loc: ChunkLocation): Promise<void> | undefined => {
    batch.push({ hash, loc });
    return batch.length >= BATCH ? run() : undefined;
  };
  if (hashes) {
    for await (const h of hashes as AsyncIterable<Buffer>) {
      const loc = host.lookup(h);
      if (!loc) {
        damaged.push({ hash: hex(h), pack: '', reason: 'missing: not in the index' });
        checked++;
        continue;
      }
      const p = add(Buffer.from(h), loc);
      if (p) await p;
    }
  } else {
    await host.scanAll((buf, at) => {
      const e = readEntry(buf, at);
      return add(e.hash, e);
    });
  }
  if (batch.length > 0) await run();
  return { checked, damaged };
}
