/** Helpers the two cloud backends share: network-error detection and reading a body. */

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH',
  'ENETUNREACH', 'ENETDOWN', 'EPIPE', 'ESOCKETTIMEDOUT', 'REQUEST_SEND_ERROR', 'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET', 'TimeoutError', 'RequestTimeout',
]);
const NETWORK_NAMES = new Set(['AbortError', 'TimeoutError', 'RequestTimeout']);

/** True if `err` (or one of its causes) says the service could not be reached or did not answer in time. */
export function networkErrorKind(err: unknown): boolean {
  for (let e = err as { code?: unknown; name?: unknown; cause?: unknown; errors?: unknown[] } | undefined, depth = 0;
    e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
    if (typeof e.name === 'string' && NETWORK_NAMES.has(e.name)) return true;
    // AggregateError from happy-eyeballs connects (IPv4 and IPv6 both refused).
    if (Array.isArray(e.errors) && e.errors.some((x) => networkErrorKind(x))) return true;
  }
  return false;
}

/** Read a Node stream to one buffer. */
export async function readAll(stream: NodeJS.ReadableStream | AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Uint8Array | string>) {
    parts.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}
