/** Small helpers for raw-byte paths and hashes (names are Buffers end to end, never strings). */

export const SLASH = Buffer.from('/');

/** `dir + '/' + name` as bytes; `dir` '/' gives '/name'. */
export function joinPath(dir: Buffer, name: Uint8Array): Buffer {
  if (dir.length === 1 && dir[0] === 0x2f) return Buffer.concat([SLASH, name]);
  return Buffer.concat([dir, SLASH, name]);
}

/** A Uint8Array as a Buffer without copying. */
export function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length);
}

export function hex(b: Uint8Array): string {
  return asBuffer(b).toString('hex');
}

/**
 * A path for messages and progress: UTF-8 where valid, with control
 * characters escaped (a name with a newline stays on one line) and invalid
 * bytes shown as \xNN.
 */
export function showPath(p: Uint8Array | string): string {
  const b = typeof p === 'string' ? Buffer.from(p) : asBuffer(p);
  let out = '';
  const s = b.toString('utf8');
  if (Buffer.byteLength(s) === b.length && !s.includes('\ufffd')) {
    if (!NEEDS_ESCAPE.test(s)) return s; // the usual name: nothing to escape, no string built char by char
    for (const ch of s) out += escapeChar(ch);
    return out;
  }
  // Not valid UTF-8: decode byte runs, escaping what does not decode.
  let i = 0;
  while (i < b.length) {
    const len = utf8SeqLen(b, i);
    if (len === 0) { out += `\\x${b[i]!.toString(16).padStart(2, '0')}`; i++; continue; }
    out += escapeChar(b.toString('utf8', i, i + len));
    i += len;
  }
  return out;
}

/** What escapeChar changes: control characters, DEL and the backslash. */
const NEEDS_ESCAPE = /[\u0000-\u001f\u007f\\]/;

function escapeChar(ch: string): string {
  const c = ch.codePointAt(0)!;
  if (c === 0x5c) return '\\\\';
  if (c < 0x20 || c === 0x7f) return c === 10 ? '\\n' : c === 9 ? '\\t' : `\\x${c.toString(16).padStart(2, '0')}`;
  return ch;
}

/** Length of the valid UTF-8 sequence starting at b[i], or 0. */
function utf8SeqLen(b: Buffer, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? (c <= 0xef ? 3 : 0) : c >= 0xc2 ? 2 : 0;
  if (n === 0 || i + n > b.length) return 0;
  for (let k = 1; k < n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return 0;
  const s = b.toString('utf8', i, i + n);
  return s.includes('\ufffd') ? 0 : n;
}
