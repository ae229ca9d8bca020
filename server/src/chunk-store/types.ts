/** Public value types of the chunk store. */

export enum Compression {
  None = 0,
  Zstd = 1,
}

/** A chunk as sent by an agent or returned for sending: `data` is the stored form. */
export interface ChunkIn {
  /** SHA-256 of the uncompressed bytes (32 bytes). */
  hash: Buffer;
  compression: Compression;
  /** Length of the uncompressed bytes. */
  rawSize: number;
  /** Bytes as stored: zstd frame(s) when compression is Zstd, else the raw bytes. */
  data: Buffer;
}

export interface ChunkStoreStats {
  /** Indexed chunks (after a crash during gc a chunk may briefly count twice). */
  chunks: number;
  packs: number;
  /** Pack files plus index files, in bytes. */
  bytesOnDisk: number;
}

/** Where one chunk lives. */
export interface ChunkLocation {
  packId: number;
  /** Offset of the record in the pack file. */
  offset: number;
  /** Whole record length (header + data + crc). */
  length: number;
  rawSize: number;
}

/** A located chunk: the unit of the index. */
export interface IndexEntry extends ChunkLocation {
  hash: Buffer;
}

/** Low-level pack write used by the writer; replaceable in tests to inject faults (e.g. ENOSPC). */
export type PackWriteFn = (fd: number, buf: Buffer, position: number) => Promise<void>;

export interface ChunkStoreOptions {
  /** A pack is sealed once it reaches this size. Default 32 MiB, max 1 GiB. */
  packTargetSize?: number;
  /** Sealed-but-unmerged index entries that trigger writing a new index run (~300 B of memory each). Default 65536. */
  indexMergeThreshold?: number;
  /** Memory for the index runs' bloom filters (10 bits per entry). Default 64 MiB. */
  indexBloomBytes?: number;
  /** More index runs than this are merged regardless of their sizes. Default 8. */
  maxIndexRuns?: number;
  /** Size of one buffered pack write. Default 4 MiB. */
  writeBufferSize?: number;
  /** Pack file handles kept open for reads. Default 64. */
  maxOpenPacks?: number;
  /** Fanout tables of index runs up to this size are cached in memory. Default 1 MiB each. */
  fanoutCacheBytes?: number;
  /** Packs whose live share falls below this are rewritten by gc. Default 0.5. */
  gcRewriteBelow?: number;
  /** Test seam: replaces positioned pack writes. */
  packWrite?: PackWriteFn;
}

export interface GcOptions {
  /** Recovery points whose ref lists are the mark set. */
  livePointIds: string[];
  /** Override of ChunkStoreOptions.gcRewriteBelow for this run. */
  rewriteBelow?: number;
}

export interface GcResult {
  chunksRemoved: number;
  bytesFreed: number;
  packsRewritten: number;
  packsDeleted: number;
}

export interface VerifyDamage {
  hash: string;
  pack: string;
  reason: string;
}

export interface VerifyResult {
  checked: number;
  damaged: VerifyDamage[];
}

export type VerifyProgress = (p: { checked: number; damaged: number }) => void;
