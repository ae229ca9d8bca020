/**
 * Compressible, source-code-like text from a seeded stream: words from a
 * fixed vocabulary with a skewed (roughly Zipf-like) frequency, short lines.
 * zstd level 1 shrinks it to roughly a third.
 */
import { ByteStream, Rng } from './rng.js';

const VOCAB_SIZE = 512;
let vocab: Buffer[] | undefined;

function vocabulary(): Buffer[] {
  if (vocab) return vocab;
  const rng = new Rng('strata-bench-vocabulary', 'words');
  const letters = 'etaoinshrdlucmfwypvbgkqjxz_';
  vocab = [];
  for (let i = 0; i < VOCAB_SIZE; i++) {
    let w = '';
    const len = 2 + Math.floor(rng.float() * rng.float() * 12);
    for (let j = 0; j < len; j++) w += letters[Math.floor(rng.float() ** 1.6 * letters.length)];
    vocab.push(Buffer.from(w, 'latin1'));
  }
  return vocab;
}

/** Exactly `n` bytes of text drawn from `stream`. */
export function textBytes(stream: ByteStream, n: number): Buffer {
  const words = vocabulary();
  const out = Buffer.allocUnsafe(n);
  const rnd = stream.next(Math.ceil(n * 0.75) + 16);
  let pos = 0;
  let r = 0;
  while (pos < n) {
    if (r + 3 > rnd.length) r = 0;
    const a = rnd[r++]!;
    const b = rnd[r++]!;
    const c = rnd[r++]!;
    const word = words[(a * b) >> 7]!;
    const len = Math.min(word.length, n - pos);
    word.copy(out, pos, 0, len);
    pos += len;
    if (pos < n) out[pos++] = c < 24 ? 0x0a : c < 40 ? 0x2c : 0x20;
  }
  return out;
}
