/** Loads strata.proto once (reflection; as fast as generated code, per STACK.md). */
import protobuf from 'protobufjs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

// uint64 fields decode to plain numbers (exact up to 2^53, far above any size we carry).
protobuf.util.Long = undefined as never;
protobuf.configure();

const protoPath = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'strata.proto');
export const root = protobuf.loadSync(protoPath);
export const FrameType = root.lookupType('strata.Frame');
export const TreeType = root.lookupType('strata.Tree');
