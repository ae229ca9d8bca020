/** Frame <-> bytes. decodeFrame() validates everything it returns. */
import { MAX_FRAME_BYTES } from './constants.js';
import { ProtocolError } from './errors.js';
import { ErrorCode, type Frame, type FrameKind } from './messages.js';
import { FrameType } from './schema.js';
import { validateBody } from './validate.js';
import {
  decodeChunkBatchFrame, decodeChunkQueryFrame, encodeChunkBatchAckFrame, encodeChunkBatchFrame, encodeChunkQueryFrame, encodeChunkQueryReplyFrame, encodeChunkRequestFrame,
} from './fast-batch.js';

const DEFAULTS = { longs: Number, enums: Number, bytes: Buffer, defaults: true, arrays: true, oneofs: true } as const;

/** `alloc(n)`: where a chunk batch frame of n bytes is written (see FrameBufferPool); other frames are small. */
export function encodeFrame(frame: Frame, alloc?: (n: number) => Buffer): Uint8Array {
  if (frame.kind === 'chunkBatch') return encodeChunkBatchFrame(frame.body, alloc);
  if (frame.kind === 'chunkRequest') return encodeChunkRequestFrame(frame.body);
  if (frame.kind === 'chunkQuery') return encodeChunkQueryFrame(frame.body);
  if (frame.kind === 'chunkBatchAck') return encodeChunkBatchAckFrame(frame.body);
  if (frame.kind === 'chunkQueryReply') return encodeChunkQueryReplyFrame(frame.body);
  return FrameType.encode(FrameType.fromObject({ [frame.kind]: frame.body })).finish();
}

/**
 * Decodes one frame and checks it. `allowed` is the set of kinds the peer may
 * send at all (AGENT_SENDS on the server, SERVER_SENDS on the agent).
 */
export function decodeFrame(data: Uint8Array, allowed?: ReadonlySet<FrameKind>): Frame {
  if (data.length > MAX_FRAME_BYTES) {
    throw new ProtocolError(ErrorCode.FrameTooLarge, `frame of ${data.length} bytes exceeds the ${MAX_FRAME_BYTES}-byte limit`);
  }
  // The hot frames first: a valid chunk batch or chunk query is read without protobufjs (fast-batch.ts); anything else goes the generic way.
  if (!allowed || allowed.has('chunkBatch')) {
    const batch = decodeChunkBatchFrame(data);
    if (batch) return { kind: 'chunkBatch', body: batch };
  }
  if (!allowed || allowed.has('chunkQuery')) {
    const query = decodeChunkQueryFrame(data);
    if (query) return { kind: 'chunkQuery', body: query };
  }
  let obj: Record<string, unknown>;
  try {
    // toObject with defaults fills every field, so validation sees real types; bytes stay views of `data`.
    obj = FrameType.toObject(FrameType.decode(data), DEFAULTS) as Record<string, unknown>;
  } catch (e) {
    throw new ProtocolError(ErrorCode.MalformedFrame, `malformed frame: ${(e as Error).message}`);
  }
  const kind = obj.body as FrameKind | undefined;
  if (!kind) throw new ProtocolError(ErrorCode.MalformedFrame, 'malformed frame: no message body');
  if (allowed && !allowed.has(kind)) {
    throw new ProtocolError(ErrorCode.OutOfOrder, `unexpected frame: '${kind}' is not sent by this peer`);
  }
  const body = obj[kind];
  validateBody(kind, body);
  return { kind, body } as Frame;
}
