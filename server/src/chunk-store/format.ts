/**
 * ============================================================================
 *  ON-DISK FORMAT CONSTANTS — DO NOT MODIFY.
 *
 *  Every number in this file is part of the chunk store's on-disk format
 *  (docs/storage-format.md). Changing one makes existing stores unreadable.
 *  A format change means: new version constant, reader for the old version
 *  kept, and the spec updated in the same commit.
 * ============================================================================
 */

/** `<dir>/FORMAT` content identifying a chunk store directory. */
export const STORE_FORMAT_NAME = 'strata-chunk-store';
export const STORE_FORMAT_VERSION = 1;

// ---- pack files: packs/<id>.pack ------------------------------------------
/** First 8 bytes of every pack file. */
export const PACK_MAGIC = Buffer.from('STRATAPK', 'latin1');
export const PACK_VERSION = 1;
/** magic[8] version:u16 headerSize:u16 packId:u32 reserved[12] headerCrc:u32 */
export const PACK_HEADER_SIZE = 32;

/** First 4 bytes of every record in a pack ("CHNK"). */
export const RECORD_MAGIC = 0x4b4e4843;
/** magic:u32 hash[32] compression:u8 flags:u8 reserved:u16 rawSize:u32 storedSize:u32 */
export const RECORD_HEADER_SIZE = 48;
/** crc32 of header + data, after the data. */
export const RECORD_TRAILER_SIZE = 4;
export const RECORD_OVERHEAD = RECORD_HEADER_SIZE + RECORD_TRAILER_SIZE;

/** Largest raw or stored chunk the store accepts (the wire protocol is stricter). */
export const MAX_CHUNK_SIZE = 4 * 1024 * 1024;
/** Offsets are u32: a pack never grows past this. */
export const MAX_PACK_SIZE = 0xffff_ffff;
/** Largest packTargetSize accepted. */
export const MAX_PACK_TARGET = 1024 * 1024 * 1024;
/** Records per pack are capped so one open pack bounds the in-memory delta. */
export const MAX_RECORDS_PER_PACK = 1 << 18;

export const HASH_SIZE = 32;

// ---- index entries (run files and pending pack indexes) --------------------
/** hash[32] packId:u32 offset:u32 recordLength:u32 rawSize:u32 */
export const INDEX_ENTRY_SIZE = 48;

// ---- sorted tables: index runs and ref lists -------------------------------
/**
 * magic[8] version:u16 headerSize:u16 recordSize:u16 fanoutBits:u8 reserved:u8
 * count:u64 recordsCrc:u32 fanoutCrc:u32 reserved[28] headerCrc:u32   (64 bytes)
 * then fanout: (2^fanoutBits + 1) × u32, then count × recordSize sorted records.
 */
export const TABLE_HEADER_SIZE = 64;
export const TABLE_VERSION = 1;
export const INDEX_RUN_MAGIC = Buffer.from('STRATAIX', 'latin1');
export const REF_LIST_MAGIC = Buffer.from('STRATARF', 'latin1');
/** Fanout bits are chosen so that a bucket holds about this many records. */
export const FANOUT_TARGET_BUCKET = 32;
export const MAX_FANOUT_BITS = 24;

// ---- pending pack index: index/pending/<id>.pidx ---------------------------
/** magic[8] version:u16 headerSize:u16 packId:u32 count:u32 bodyCrc:u32 coveredBytes:u32 headerCrc:u32 */
export const PIDX_MAGIC = Buffer.from('STRATAPI', 'latin1');
export const PIDX_VERSION = 1;
export const PIDX_HEADER_SIZE = 32;

// ---- index manifest: index/MANIFEST.json -----------------------------------
export const MANIFEST_FORMAT_NAME = 'strata-chunk-index';
export const MANIFEST_VERSION = 1;

// ---- bloom filter beside an index run: index/run-<n>.bloom -----------------
/** magic[8] version:u16 headerSize:u16 k:u8 reserved[3] bits:u64 count:u64 bodyCrc:u32 headerCrc:u32 */
export const BLOOM_MAGIC = Buffer.from('STRATABF', 'latin1');
export const BLOOM_VERSION = 1;
export const BLOOM_HEADER_SIZE = 40;
/** Bits per entry and probes: ~0.8% false positives. */
export const BLOOM_BITS_PER_ENTRY = 10;
export const BLOOM_PROBES = 7;
