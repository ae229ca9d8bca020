/**
 * Vault verification: reads every index, every pack (whole, one GET each)
 * and every point back, and reports damage instead of throwing. A blob is
 * sound when it authenticates, decompresses to its size, and its SHA-256
 * maps to its chunk id (HMAC) — so the full content check needs no
 * plaintext hash list. Points are checked for chunks no index holds.
 */
import { createHash } from 'node:crypto';
import { isVaultError } from './backends/backend.js';
import { PACK_FOOTER_SIZE, PACK_HEADER_SIZE, PACK_MAGIC } from './format.js';
import { decodeIndex, type PackIndex } from './index-format.js';
import { type KnownChunks, readIndex } from './known-chunks.js';
import { decryptBlob, indexKey, isPackId, openPackTrailer, packKey, parsePackFooter } from './pack-format.js';
import { VaultReader } from './reader.js';
import { withRetry } from './transfer.js';
import type { Vault } from './vault.js';

export interface VaultDamage {
  key: string;
  /** Chunk id (hex) when one chunk is concerned. */
  chunk?: string;
  reason: string;
}

export interface VaultVerifyResult {
  packs: number;
  chunks: number;
  points: number;
  damaged: VaultDamage[];
}

export interface VerifyOptions {
  /** Read and check every blob (default); false checks only indexes, pack sizes and points. */
  readData?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: { packs: number; chunks: number; damaged: number }) => void;
}

const reasonOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

export async function verifyVault(vault: Vault, known: KnownChunks, o: VerifyOptions = {}): Promise<VaultVerifyResult> {
  const res: VaultVerifyResult = { packs: 0, chunks: 0, points: 0, damaged: [] };
  const held = new Set<string>();
  for (const obj of await vault.list('index/', o.signal)) {
    o.signal?.throwIfAborted();
    const packId = obj.key.slice('index/'.length);
    if (!isPackId(packId)) continue;
    let ix: PackIndex;
    try {
      ix = decodeIndex(await readIndex(vault, packId, o.signal), packId) as PackIndex;
    } catch (err) {
      res.damaged.push({ key: indexKey(packId), reason: reasonOf(err) });
      continue;
    }
    res.packs++;
    const ok = await verifyPack(vault, ix, o.readData !== false, res.damaged, o.signal);
    for (const e of ix.entries) if (ok.has(e.id.toString('hex'))) held.add(e.id.toString('latin1'));
    res.chunks += ix.entries.length;
    o.onProgress?.({ packs: res.packs, chunks: res.chunks, damaged: res.damaged.length });
  }
  const reader = new VaultReader(vault, known);
  for (const id of await reader.pointIds(o.signal)) {
    try {
      await reader.getPoint(id, o.signal);
      let missing = 0;
      for (const cid of await reader.pointRefs(id, o.signal)) if (!held.has(cid.toString('latin1'))) missing++;
      if (missing) res.damaged.push({ key: `points/${id}`, reason: `${missing} of its chunks are missing or damaged` });
      res.points++;
    } catch (err) {
      res.damaged.push({ key: `points/${id}`, reason: reasonOf(err) });
    }
  }
  return res;
}

/** Check one pack against its index; returns the hex ids of the sound chunks. */
async function verifyPack(vault: Vault, ix: PackIndex, readData: boolean, damaged: VaultDamage[], signal?: AbortSignal): Promise<Set<string>> {
  const key = packKey(ix.packId);
  const sound = new Set<string>();
  const fail = (reason: string, chunk?: string) => {
    damaged.push({ key, reason, ...(chunk ? { chunk } : {}) });
  };
  const head = await withRetry(() => vault.backend.head(key), vault.retry, vault.clock, signal);
  if (!head) {
    fail('missing pack');
    return sound;
  }
  if (head.size !== ix.packSize) {
    fail(`pack is ${head.size} bytes, its index says ${ix.packSize}`);
    return sound;
  }
  if (!readData) {
    for (const e of ix.entries) sound.add(e.id.toString('hex'));
    return sound;
  }
  const data = await withRetry(() => vault.backend.get(key), vault.retry, vault.clock, signal).catch((err: unknown) => {
    if (isVaultError(err, 'not-found')) return undefined;
    throw err;
  });
  if (!data) {
    fail('missing pack');
    return sound;
  }
  const problem = checkPackFrame(vault, ix, data);
  if (problem) fail(problem);
  for (const e of ix.entries) {
    const hex = e.id.toString('hex');
    const raw = decryptBlob(vault.keys, ix.packId, e, data.subarray(e.offset, e.offset + e.length));
    if (typeof raw === 'string') fail(raw, hex);
    else if (!vault.chunkId(createHash('sha256').update(raw).digest()).equals(e.id)) fail('content does not match its chunk id', hex);
    else sound.add(hex);
  }
  return sound;
}

/** Header, footer and trailer of a whole pack; a reason when they do not match its index. */
function checkPackFrame(vault: Vault, ix: PackIndex, data: Buffer): string | undefined {
  if (data.length < PACK_HEADER_SIZE + PACK_FOOTER_SIZE || !data.subarray(0, 8).equals(PACK_MAGIC)) return 'bad pack header';
  const footer = parsePackFooter(data.subarray(data.length - PACK_FOOTER_SIZE));
  if (typeof footer === 'string') return footer;
  const end = data.length - PACK_FOOTER_SIZE;
  const t = openPackTrailer(vault.keys, ix.packId, data.subarray(Math.max(0, end - footer.trailerLength), end));
  if (typeof t === 'string') return t;
  const same = t.entries.length === ix.entries.length
    && t.entries.every((e, i) => e.id.equals(ix.entries[i].id) && e.offset === ix.entries[i].offset && e.length === ix.entries[i].length);
  return same ? undefined : 'pack trailer differs from its index object';
}
