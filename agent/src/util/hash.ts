/** The content hash: SHA-256 of a chunk's raw (uncompressed) bytes. */
import { createHash } from 'node:crypto';

export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}
