/**
 * zstd for the vault: compression before encryption, and bounded
 * decompression (output never exceeds the declared size: no zip bombs).
 */
import binding from 'zstd-napi/binding.js';
import { compress } from 'zstd-napi';

let dctx: InstanceType<typeof binding.DCtx> | undefined;

export function zstd(data: Uint8Array, level = 3): Buffer {
  return compress(data, { compressionLevel: level });
}

/** Decompress into exactly `size` bytes, or return a reason. */
export function unzstdExact(data: Uint8Array, size: number): Buffer | string {
  dctx ??= new binding.DCtx();
  const out = Buffer.allocUnsafe(size);
  let n: number;
  try {
    n = dctx.decompress(out, data);
  } catch (err) {
    return `zstd decompression failed: ${(err as Error).message}`;
  }
  return n === size ? out : `decompressed size ${n} differs from the declared ${size}`;
}
