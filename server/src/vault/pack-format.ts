/**
 * Pack objects (docs/vault-format.md §4): a header, encrypted chunk blobs, an
 * encrypted trailer repeating the pack's index, and a footer.
 *
 * PackBuilder collects blobs in memory (a pack is one atomic PUT); openBlob
 * decrypts and checks one blob fetched with a range GET.
 */
import { createHash, randomBytes } from 'node:crypto';
import { unzstdExact } from './compression.js';
import { open, seal, sealedSize } from './crypto.js';
import {
  AAD_BLOB, AAD_TRAILER, BLOB_OVERHEAD, BlobCompression, GCM_NONCE_BYTES, GCM_TAG_BYTES, MAX_BLOBS_PER_PACK,
  PACK_FOOTER_MAGIC, PACK_FOOTER_SIZE, PACK_HEADER_SIZE, PACK_ID_BYTES, PACK_MAGIC, PACK_VERSION,
} from './format.js';
import { type BlobEntry, decodeIndex, encodeIndex, indexPayloadSize, type PackIndex } from './index-format.js';
import type { VaultKeys } from './keys.js';

export function newPackId(): string {
  return randomBytes(PACK_ID_BYTES).toString('hex');
}

export function packKey(packId: string): string {
  return `packs/${packId.slice(0, 2)}/${packId}`;
}

export function indexKey(packId: string): string {
  return `index/${packId}`;
}

const PACK_ID_RE = /^[0-9a-f]{32}$/;
export function isPackId(s: string): boolean {
  return PACK_ID_RE.test(s);
}

function blobAad(id: Buffer): Buffer {
  return Buffer.concat([Buffer.from(AAD_BLOB, 'utf8'), id]);
}

function trailerAad(packId: string): Buffer {
  return Buffer.from(AAD_TRAILER + packId, 'utf8');
}

export interface BuiltPack {
  packId: string;
  key: string;
  data: Buffer;
  index: PackIndex;
  /** The encoded index payload (what index/<packId> and known-chunks.log hold). */
  indexPayload: Buffer;
  /** Sum of the chunks' raw sizes. */
  rawBytes: number;
}

export class PackBuilder {
  readonly packId = newPackId();
  readonly key = packKey(this.packId);
  private readonly pieces: Buffer[] = [];
  private readonly entries: BlobEntry[] = [];
  private size = PACK_HEADER_SIZE;
  private rawBytes = 0;
  private readonly aesKey: Buffer;

  constructor(keys: VaultKeys) {
    this.aesKey = keys.objectKey(this.key);
    const h = Buffer.alloc(PACK_HEADER_SIZE);
    PACK_MAGIC.copy(h, 0);
    h.writeUInt16LE(PACK_VERSION, 8);
    h.writeUInt16LE(PACK_HEADER_SIZE, 10);
    this.pieces.push(h);
  }

  get bytes(): number {
    return this.size;
  }

  get count(): number {
    return this.entries.length;
  }

  get full(): boolean {
    return this.entries.length >= MAX_BLOBS_PER_PACK;
  }

  /** Encrypt and append one chunk (data already in its stored form: compressed or not). */
  add(id: Buffer, compression: BlobCompression, rawSize: number, data: Buffer): void {
    const blob = seal(this.aesKey, blobAad(id), Buffer.of(compression), data);
    this.entries.push({ id, offset: this.size, length: blob.length, rawSize, compression });
    this.pieces.push(blob);
    this.size += blob.length;
    this.rawBytes += rawSize;
  }

  finish(): BuiltPack {
    const packSize = this.size + sealedSize(indexPayloadSize(this.entries.length)) + PACK_FOOTER_SIZE;
    const index: PackIndex = { packId: this.packId, packSize, entries: this.entries };
    const indexPayload = encodeIndex(index);
    const trailer = seal(this.aesKey, trailerAad(this.packId), indexPayload);
    const footer = Buffer.alloc(PACK_FOOTER_SIZE);
    footer.writeUInt32LE(trailer.length, 0);
    footer.writeUInt32LE(this.entries.length, 4);
    PACK_FOOTER_MAGIC.copy(footer, 8);
    const data = Buffer.concat([...this.pieces, trailer, footer]);
    if (data.length !== packSize) throw new Error(`pack ${this.packId}: built ${data.length} bytes, expected ${packSize}`);
    this.pieces.length = 0;
    return { packId: this.packId, key: this.key, data, index, indexPayload, rawBytes: this.rawBytes };
  }
}

/**
 * Decrypt and decompress one blob into exactly its raw size. Returns the raw
 * chunk, or a reason (authentication failure, bad size) — never unchecked bytes.
 */
export function decryptBlob(keys: VaultKeys, packId: string, e: BlobEntry, blob: Buffer): Buffer | string {
  if (blob.length !== e.length || blob.length < BLOB_OVERHEAD) return `blob is ${blob.length} bytes, the index says ${e.length}`;
  const plain = open(keys.objectKey(packKey(packId)), blobAad(e.id), blob);
  if (!plain) return 'authentication failed (AES-GCM tag mismatch)';
  const compression = plain[0];
  if (compression !== e.compression) return `blob compression ${compression} differs from the index (${e.compression})`;
  const data = plain.subarray(1);
  if (compression === BlobCompression.None) {
    return data.length === e.rawSize ? data : `raw size ${data.length} differs from the index (${e.rawSize})`;
  }
  return unzstdExact(data, e.rawSize);
}

/**
 * Decrypt one blob into its stored form (compression byte and data, not
 * decompressed): what pruning copies into a new pack. Returns a reason when
 * it does not authenticate or does not match its index entry.
 */
export function openStoredBlob(keys: VaultKeys, packId: string, e: BlobEntry, blob: Buffer): { compression: BlobCompression; data: Buffer } | string {
  if (blob.length !== e.length || blob.length < BLOB_OVERHEAD) return `blob is ${blob.length} bytes, the index says ${e.length}`;
  const plain = open(keys.objectKey(packKey(packId)), blobAad(e.id), blob);
  if (!plain) return 'authentication failed (AES-GCM tag mismatch)';
  if (plain[0] !== e.compression) return `blob compression ${plain[0]} differs from the index (${e.compression})`;
  if (plain[0] === BlobCompression.None && plain.length - 1 !== e.rawSize) return `raw size ${plain.length - 1} differs from the index (${e.rawSize})`;
  return { compression: plain[0] as BlobCompression, data: plain.subarray(1) };
}

/** decryptBlob, then the SHA-256 of the result must be `sha256`. */
export function openBlob(keys: VaultKeys, packId: string, e: BlobEntry, blob: Buffer, sha256: Buffer): Buffer | string {
  const raw = decryptBlob(keys, packId, e, blob);
  if (typeof raw === 'string') return raw;
  if (!createHash('sha256').update(raw).digest().equals(sha256)) return 'SHA-256 of the decrypted chunk does not match';
  return raw;
}

/** Footer of a pack: the trailer's length and the blob count; or a reason. */
export function parsePackFooter(footer: Buffer): { trailerLength: number; count: number } | string {
  if (footer.length !== PACK_FOOTER_SIZE || !footer.subarray(8).equals(PACK_FOOTER_MAGIC)) return 'bad pack footer';
  return { trailerLength: footer.readUInt32LE(0), count: footer.readUInt32LE(4) };
}

/** Decrypt and decode a pack's trailer (its own copy of the index). */
export function openPackTrailer(keys: VaultKeys, packId: string, trailer: Buffer): PackIndex | string {
  if (trailer.length < GCM_NONCE_BYTES + GCM_TAG_BYTES) return 'pack trailer too short';
  const plain = open(keys.objectKey(packKey(packId)), trailerAad(packId), trailer);
  if (!plain) return 'pack trailer authentication failed (AES-GCM tag mismatch)';
  return decodeIndex(plain, packId);
}
