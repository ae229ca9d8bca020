/**
 * The strata.proto schema, parsed once (reflection; as fast as generated code,
 * per STACK.md). The text comes from proto-source.ts, generated from the
 * .proto file, so bundles need no file lookup at run time.
 */
import protobuf from 'protobufjs';
import { STRATA_PROTO } from './proto-source.js';

// uint64 fields decode to plain numbers (exact up to 2^53, far above any size we carry).
protobuf.util.Long = undefined as never;
protobuf.configure();

export const root = protobuf.parse(STRATA_PROTO, { keepCase: false }).root;
export const FrameType = root.lookupType('strata.Frame');
export const TreeType = root.lookupType('strata.Tree');
