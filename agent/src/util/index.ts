/**
 * agent/util — helpers shared by the backup and restore paths: raw-byte path
 * handling (bytes.ts), the content hash (hash.ts), chunk compression and
 * verified decompression (zstd.ts), glob patterns (glob.ts), durable writes
 * (durable.ts) and the agent's error type (errors.ts). Nothing here knows about
 * jobs, trees or the network.
 */
export * from './bytes.js';
export * from './hash.js';
export * from './errors.js';
export * from './zstd.js';
export * from './glob.js';
export * from './durable.js';
export * from './warnings.js';
export * from './limiter.js';
