/**
 * Frozen protocol numbers. Do not change a value once released: add a new
 * version instead. docs/protocol.md explains each.
 */
export const PROTOCOL_VERSION = 1;
export const MIN_PROTOCOL_VERSION = 1;

/** Largest frame either side accepts; a bigger one is a protocol error. */
export const MAX_FRAME_BYTES = 8 * 1024 * 1024;
/** Most chunks in one ChunkBatch / hashes in one ChunkQuery or ChunkRequest. */
export const MAX_BATCH_ITEMS = 4096;
/** Largest chunk (raw or stored) the protocol carries: file chunks are at most 64 KiB, tree chunks at most 1 MiB. */
export const MAX_CHUNK_BYTES = 1024 * 1024;
export const HASH_BYTES = 32;
export const MAX_STRING = 4096;
export const MAX_PATHS = 1024;
export const MAX_WARNINGS = 1000;
/** Domain separation for the Hello signature. */
export const HELLO_CONTEXT = 'strata-hello-v1';
