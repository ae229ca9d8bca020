/**
 * @strata/protocol — the agent <-> server wire protocol (strata.proto, frames,
 * validation, version negotiation) and the recovery-point tree format. Both
 * server and agent depend on this package; it depends on neither.
 */
export * from './constants.js';
export * from './messages.js';
export * from './errors.js';
export { encodeFrame, decodeFrame } from './codec.js';
export { FrameBufferPool } from './frame-pool.js';
export { encodeTree, decodeTree } from './tree.js';
export { negotiateVersion } from './version.js';
export { formatEnrollmentToken, parseEnrollmentToken, helloSignedBytes } from './identity.js';
