/**
 * Checks of every decoded frame: types, sizes and enums. protobufjs accepts
 * anything that parses; these rules say what Strata accepts. A failure is a
 * ProtocolError(MalformedFrame) naming the field.
 */
import { HASH_BYTES, MAX_BATCH_ITEMS, MAX_CHUNK_BYTES, MAX_PATHS, MAX_STRING, MAX_WARNINGS } from './constants.js';
import { ProtocolError } from './errors.js';
import { Compression, ErrorCode, type FrameBodies, type FrameKind } from './messages.js';

type Rule = (v: unknown, field: string) => void;
const fail = (field: string, why: string): never => {
  throw new ProtocolError(ErrorCode.MalformedFrame, `malformed frame: ${field} ${why}`);
};
const str = (max = MAX_STRING): Rule => (v, f) => {
  if (typeof v !== 'string') fail(f, 'is not a string');
  if ((v as string).length > max) fail(f, `is longer than ${max} characters`);
};
const id: Rule = (v, f) => {
  str(64)(v, f);
  if (!/^[A-Za-z0-9._-]*$/.test(v as string)) fail(f, 'has characters not allowed in an id');
};
const requiredId: Rule = (v, f) => {
  id(v, f);
  if ((v as string).length === 0) fail(f, 'is empty');
};
const uint: Rule = (v, f) => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(f, 'is not a non-negative integer');
};
const bool: Rule = (v, f) => { if (typeof v !== 'boolean') fail(f, 'is not a boolean'); };
const bytes = (min: number, max: number): Rule => (v, f) => {
  if (!(v instanceof Uint8Array)) fail(f, 'is not bytes');
  const n = (v as Uint8Array).length;
  if (n < min || n > max) fail(f, `has ${n} bytes, expected ${min === max ? min : `${min}..${max}`}`);
};
const hash = bytes(HASH_BYTES, HASH_BYTES);
const list = (item: Rule, max: number, min = 0): Rule => (v, f) => {
  if (!Array.isArray(v)) fail(f, 'is not a list');
  const a = v as unknown[];
  if (a.length > max) fail(f, `has ${a.length} items, at most ${max} allowed`);
  if (a.length < min) fail(f, `has ${a.length} items, at least ${min} required`);
  a.forEach((x, i) => item(x, `${f}[${i}]`));
};
const oneOf = (values: number[]): Rule => (v, f) => {
  if (typeof v !== 'number' || !values.includes(v)) fail(f, `has unknown value ${String(v)}`);
};
const message = (shape: Record<string, Rule>): Rule => (v, f) => {
  if (v === null || typeof v !== 'object') fail(f, 'is missing');
  for (const [k, rule] of Object.entries(shape)) rule((v as Record<string, unknown>)[k], `${f}.${k}`);
};
const chunk = message({
  hash,
  compression: oneOf([Compression.None, Compression.Zstd]),
  rawSize: (v, f) => { uint(v, f); if ((v as number) > MAX_CHUNK_BYTES) fail(f, `exceeds ${MAX_CHUNK_BYTES}`); },
  data: bytes(0, MAX_CHUNK_BYTES),
});
const versions = { minVersion: uint, maxVersion: uint };

const RULES: { [K in FrameKind]: Record<string, Rule> } = {
  challenge: { ...versions, nonce: bytes(32, 32), serverId: str(128) },
  hello: { ...versions, agentId: requiredId, signature: bytes(64, 64), agentVersion: str(64), hostname: str(255) },
  enroll: { ...versions, token: str(256), publicKey: str(1024), hostname: str(255), agentVersion: str(64) },
  welcome: { version: uint, agentId: requiredId, agentName: str(255) },
  error: { code: (v, f) => uint(v, f), message: str(), jobId: id },
  ping: { timeMs: uint },
  pong: { timeMs: uint },
  backup: {
    jobId: requiredId, dataSourceId: requiredId, paths: list(str(), MAX_PATHS, 1),
    includes: list(str(), MAX_PATHS), excludes: list(str(), MAX_PATHS), parentPointId: id,
  },
  chunkQuery: { jobId: requiredId, queryId: uint, hashes: list(hash, MAX_BATCH_ITEMS, 1) },
  chunkQueryReply: { jobId: requiredId, queryId: uint, have: bytes(0, MAX_BATCH_ITEMS / 8) },
  chunkBatch: { jobId: requiredId, batchId: uint, chunks: list(chunk, MAX_BATCH_ITEMS) },
  chunkBatchAck: { jobId: requiredId, batchId: uint },
  progress: {
    jobId: requiredId, bytesScanned: uint, bytesSent: uint, filesScanned: uint, filesChanged: uint,
    bytesTotal: uint, filesTotal: uint, currentPath: str(),
  },
  backupCommit: {
    jobId: requiredId, root: list(hash, MAX_BATCH_ITEMS, 1), files: uint, dirs: uint, bytes: uint,
    warnings: list(str(), MAX_WARNINGS),
  },
  backupDone: { jobId: requiredId, pointId: requiredId },
  restore: {
    jobId: requiredId, pointId: requiredId, root: list(hash, MAX_BATCH_ITEMS, 1), target: str(),
    paths: list(str(), MAX_PATHS), overwrite: bool,
  },
  chunkRequest: { jobId: requiredId, batchId: uint, hashes: list(hash, MAX_BATCH_ITEMS, 1) },
  restoreDone: { jobId: requiredId, files: uint, bytes: uint, warnings: list(str(), MAX_WARNINGS) },
  jobFailed: { jobId: requiredId, message: str() },
  cancelJob: { jobId: requiredId },
};

export function validateBody<K extends FrameKind>(kind: K, body: unknown): asserts body is FrameBodies[K] {
  message(RULES[kind])(body, kind);
}
