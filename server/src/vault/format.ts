/**
 * ============================================================================
 *  VAULT FORMAT CONSTANTS — DO NOT MODIFY.
 *
 *  Every value in this file is part of the vault format (docs/vault-format.md):
 *  magic numbers, versions, sizes, key-derivation labels and KDF bounds.
 *  Changing one makes existing vaults unreadable. A format change means: a new
 *  version constant, the reader for the old version kept, and the spec
 *  updated in the same commit.
 * ============================================================================
 */

// ---- config ------------------------------------------------------------------
export const CONFIG_KEY = 'config';
export const VAULT_FORMAT_NAME = 'strata-vault';
export const VAULT_FORMAT_VERSION = 1;

/** Passphrases shorter than this (in Unicode code points) are refused, as MARS does. */
export const MIN_PASSPHRASE_CHARS = 16;

/** scrypt parameters written by createVault. */
export const KDF_DEFAULT = { name: 'scrypt', N: 1 << 17, r: 8, p: 1 } as const;
/** Bounds accepted when reading a config (below: too weak; above: a hostile config exhausting memory). */
export const KDF_MIN = { N: 1 << 17, r: 8, p: 1 } as const;
export const KDF_MAX = { N: 1 << 20, r: 16, p: 4, memoryBytes: 1 << 30 } as const;
export const KDF_SALT_BYTES = 32;

export const MASTER_KEY_BYTES = 32;
export const GCM_NONCE_BYTES = 12;
export const GCM_TAG_BYTES = 16;
export const VAULT_ID_BYTES = 16;

// ---- key-derivation labels (HKDF info / HMAC messages / AAD prefixes) ----------
export const LABEL_WRAPPED_KEY = 'strata-vault v1 wrapped-key';
export const LABEL_KEY_ID = 'strata-vault v1 key-id';
export const LABEL_CHUNK_ID = 'strata-vault v1 chunk-id';
export const LABEL_DATA = 'strata-vault v1 data';
export const LABEL_OBJECT = 'strata-vault v1 object ';
export const AAD_OBJECT = 'strata-vault v1 object|';
export const AAD_BLOB = 'strata-vault v1 blob|';
export const AAD_TRAILER = 'strata-vault v1 trailer|';

// ---- encrypted object envelope (index, refs, points) ---------------------------
/** magic[8] version:u8 type:u8 reserved:u16, then nonce[12] ciphertext tag[16]. */
export const OBJECT_MAGIC = Buffer.from('STRVOBJ\0', 'latin1');
export const OBJECT_VERSION = 1;
export const OBJECT_HEADER_SIZE = 12;
export enum ObjectType {
  Index = 1,
  Refs = 2,
  Point = 3,
  /** A soft-delete marker `deleted/<pointId>` (added within version 1: older readers ignore `deleted/`). */
  Deleted = 4,
}
/** Largest decompressed payload of an envelope. */
export const MAX_OBJECT_PAYLOAD = 256 << 20;

// ---- packs ---------------------------------------------------------------------
/** magic[8] version:u16 headerSize:u16 reserved:u32 */
export const PACK_MAGIC = Buffer.from('STRVPACK', 'latin1');
export const PACK_VERSION = 1;
export const PACK_HEADER_SIZE = 16;
/** trailerLength:u32 blobCount:u32 magic[8] */
export const PACK_FOOTER_MAGIC = Buffer.from('STRVPEND', 'latin1');
export const PACK_FOOTER_SIZE = 16;
export const MAX_BLOBS_PER_PACK = 1 << 18;
export const PACK_TARGET_DEFAULT = 16 << 20;
export const PACK_TARGET_MIN = 1 << 10;
export const PACK_TARGET_MAX = 256 << 20;
/** Blob = nonce + (compression byte + data) + tag. */
export const BLOB_OVERHEAD = GCM_NONCE_BYTES + 1 + GCM_TAG_BYTES;
/** Largest raw chunk (the chunk store's limit). */
export const MAX_CHUNK_SIZE = 4 * 1024 * 1024;

export enum BlobCompression {
  None = 0,
  Zstd = 1,
}

// ---- index payload -------------------------------------------------------------
/** magic[8] version:u16 entrySize:u16 packId[16] count:u32 packSize:u64 */
export const INDEX_MAGIC = Buffer.from('STRVIDX\0', 'latin1');
export const INDEX_VERSION = 1;
export const INDEX_HEADER_SIZE = 40;
/** chunkId[32] offset:u32 length:u32 rawSize:u32 compression:u8 reserved[3] */
export const INDEX_ENTRY_SIZE = 48;
export const CHUNK_ID_BYTES = 32;
export const PACK_ID_BYTES = 16;

// ---- point manifests -----------------------------------------------------------
export const POINT_FORMAT_NAME = 'strata-vault-point';
export const POINT_FORMAT_VERSION = 1;

// ---- soft-delete markers -------------------------------------------------------
export const DELETED_FORMAT_NAME = 'strata-vault-deleted';
export const DELETED_FORMAT_VERSION = 1;

// ---- local state: known-chunks.log ----------------------------------------------
/** magic[8] version:u16 reserved[6] vaultId[16] */
export const KNOWN_MAGIC = Buffer.from('STRVKNOW', 'latin1');
export const KNOWN_VERSION = 1;
export const KNOWN_HEADER_SIZE = 32;
/** Each record: magic "SVKC" length:u32 payload crc32:u32 */
export const KNOWN_RECORD_MAGIC = Buffer.from('SVKC', 'latin1');

// ---- local state: vault-key.json -------------------------------------------------
export const KEY_FILE_FORMAT = 'strata-vault-key';
export const KEY_FILE_VERSION = 1;
