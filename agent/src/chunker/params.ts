/**
 * Frozen chunking parameters. Changing any value here (or the gear table seed)
 * moves every chunk boundary, so a changed agent would re-upload everything
 * once and deduplicate nothing against older points. Do not modify: add a new
 * parameter set with a new version instead. docs/chunking.md explains each value.
 */
import { createHash } from 'node:crypto';

export interface ChunkerParams {
  /** No boundary is placed before this many bytes (the hash is not even computed there). */
  minSize: number;
  /** Below this size the strict mask is used, above it the loose one (normalized chunking). */
  normalSize: number;
  /** A chunk is cut here at the latest. */
  maxSize: number;
  /** Strict mask (more bits set: a cut is less likely) used from minSize to normalSize. */
  maskS: number;
  /** Loose mask (fewer bits set) used from normalSize to maxSize. */
  maskL: number;
}

/** Top `bits` bits of a 32-bit word: the gear hash's high bits depend on the last 32 input bytes. */
function topBits(bits: number): number {
  return (0xffffffff << (32 - bits)) | 0;
}

export const CHUNKER_V1: Readonly<ChunkerParams> = Object.freeze({
  minSize: 4 * 1024,
  normalSize: 16 * 1024,
  maxSize: 64 * 1024,
  maskS: topBits(15),
  maskL: topBits(11),
});

/** Seed of the gear table: gear[i] = first 4 bytes (big-endian) of SHA-256(seed || byte i). */
export const GEAR_SEED = 'strata-gear-v1';

function makeGear(seed: string): Int32Array {
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    const d = createHash('sha256').update(seed, 'latin1').update(Uint8Array.of(i)).digest();
    table[i] = d.readInt32BE(0);
  }
  return table;
}

/** The gear table, computed once at load; its SHA-256 is pinned by a test. */
export const GEAR: Int32Array = makeGear(GEAR_SEED);

/** Checks parameters a caller passes in; the frozen set always passes. */
export function checkParams(p: ChunkerParams): void {
  const ok = Number.isInteger(p.minSize) && Number.isInteger(p.normalSize) && Number.isInteger(p.maxSize)
    && p.minSize >= 64 && p.minSize <= p.normalSize && p.normalSize <= p.maxSize && p.maxSize <= 1 << 30;
  if (!ok) throw new RangeError(`invalid chunker sizes: min ${p.minSize}, normal ${p.normalSize}, max ${p.maxSize}`);
}
