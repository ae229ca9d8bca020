/**
 * agent/chunker — content-defined chunking of file and tree bytes.
 *
 * Owns: the frozen chunking parameters and gear table (params.ts) and the
 * streaming chunker (chunker.ts); the backup's file worker
 * (backup/file-worker.ts) and the native addon (native.ts, agent/native) run
 * the same cut rule off the main thread. Promises: the same bytes always give the same
 * chunks, whatever the block sizes they are pushed in; every chunk except a
 * stream's last is between minSize and maxSize bytes; the last is 1..maxSize.
 * Format and reasoning: docs/chunking.md.
 */
export { Chunker, chunkBuffer } from './chunker.js';
export { CHUNKER_V1, GEAR, GEAR_SEED, type ChunkerParams } from './params.js';
export { loadNative, nativeAddon, nativeStatus, createNativeHasher, type NativeHasher, type NativeStatus } from './native.js';
export type { BlockCuts, HashStream } from './cuts.js';
