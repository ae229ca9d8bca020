/**
 * Encrypted object envelope for index, refs and point objects
 * (docs/vault-format.md §3): header ‖ nonce ‖ AES-GCM(len u32 ‖ zstd(payload)) ‖ tag,
 * with the header, the vault id and the object's key as associated data, so an
 * object cannot be moved to another key or read as another type.
 */
import { open, seal } from './crypto.js';
import { unzstdExact, zstd } from './compression.js';
import {
  AAD_OBJECT, MAX_OBJECT_PAYLOAD, OBJECT_HEADER_SIZE, OBJECT_MAGIC, OBJECT_VERSION, type ObjectType,
} from './format.js';
import type { VaultKeys } from './keys.js';

function header(type: ObjectType): Buffer {
  const h = Buffer.alloc(OBJECT_HEADER_SIZE);
  OBJECT_MAGIC.copy(h, 0);
  h.writeUInt8(OBJECT_VERSION, 8);
  h.writeUInt8(type, 9);
  return h;
}

function aad(h: Buffer, vaultIdHex: string, key: string): Buffer {
  return Buffer.concat([h, Buffer.from(`${AAD_OBJECT}${vaultIdHex}|${key}`, 'utf8')]);
}

export function sealObject(keys: VaultKeys, type: ObjectType, key: string, payload: Buffer): Buffer {
  const h = header(type);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(payload.length);
  return Buffer.concat([h, seal(keys.objectKey(key), aad(h, keys.vaultId.toString('hex'), key), len, zstd(payload))]);
}

/** The payload, or a reason the object is unusable (wrong type, damage, tampering). */
export function openObject(keys: VaultKeys, type: ObjectType, key: string, data: Buffer): Buffer | string {
  if (data.length < OBJECT_HEADER_SIZE + 12 + 16 + 4) return `too short (${data.length} bytes)`;
  const h = data.subarray(0, OBJECT_HEADER_SIZE);
  if (!h.subarray(0, 8).equals(OBJECT_MAGIC)) return 'not a vault object (bad magic)';
  if (h.readUInt8(8) !== OBJECT_VERSION) return `unsupported object version ${h.readUInt8(8)}`;
  if (h.readUInt8(9) !== type) return `object type ${h.readUInt8(9)} where ${type} was expected`;
  const plain = open(keys.objectKey(key), aad(h, keys.vaultId.toString('hex'), key), data.subarray(OBJECT_HEADER_SIZE));
  if (!plain) return 'authentication failed (AES-GCM tag mismatch)';
  const size = plain.readUInt32LE(0);
  if (size > MAX_OBJECT_PAYLOAD) return `declared payload size ${size} exceeds ${MAX_OBJECT_PAYLOAD}`;
  return unzstdExact(plain.subarray(4), size);
}
