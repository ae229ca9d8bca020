import { MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from './constants.js';
import { ProtocolError } from './errors.js';
import { ErrorCode } from './messages.js';

/** Highest version both sides speak, or a VersionMismatch error naming both ranges. */
export function negotiateVersion(peerMin: number, peerMax: number): number {
  const v = Math.min(peerMax, PROTOCOL_VERSION);
  if (v < Math.max(peerMin, MIN_PROTOCOL_VERSION)) {
    throw new ProtocolError(
      ErrorCode.VersionMismatch,
      `no common protocol version: peer speaks ${peerMin}..${peerMax}, this side ${MIN_PROTOCOL_VERSION}..${PROTOCOL_VERSION}`,
    );
  }
  return v;
}
