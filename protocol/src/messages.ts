/** TypeScript shapes of the messages in strata.proto, one union per direction. */

export enum Compression { None = 0, Zstd = 1 }
export enum EntryType { File = 0, Dir = 1, Symlink = 2, Hardlink = 3 }
export enum ErrorCode {
  Unspecified = 0, MalformedFrame = 1, FrameTooLarge = 2, OutOfOrder = 3, VersionMismatch = 4,
  AuthFailed = 5, AgentRevoked = 6, TokenInvalid = 7, JobFailed = 8, ChunkRejected = 9, Internal = 10, NotFound = 11,
}

export interface Challenge { minVersion: number; maxVersion: number; nonce: Uint8Array; serverId: string }
export interface Hello { minVersion: number; maxVersion: number; agentId: string; signature: Uint8Array; agentVersion: string; hostname: string }
export interface Enroll { minVersion: number; maxVersion: number; token: string; publicKey: string; hostname: string; agentVersion: string }
export interface Welcome { version: number; agentId: string; agentName: string }
export interface ErrorMsg { code: ErrorCode; message: string; jobId?: string }
export interface Ping { timeMs: number }
export interface BackupCommand { jobId: string; dataSourceId: string; paths: string[]; includes: string[]; excludes: string[]; parentPointId: string }
export interface ChunkQuery { jobId: string; queryId: number; hashes: Uint8Array[] }
export interface ChunkQueryReply { jobId: string; queryId: number; have: Uint8Array }
export interface Chunk { hash: Uint8Array; compression: Compression; rawSize: number; data: Uint8Array }
export interface ChunkBatch { jobId: string; batchId: number; chunks: Chunk[] }
export interface ChunkBatchAck { jobId: string; batchId: number }
export interface Progress {
  jobId: string; bytesScanned: number; bytesSent: number; filesScanned: number; filesChanged: number;
  bytesTotal: number; filesTotal: number; currentPath: string;
}
export interface BackupCommit { jobId: string; root: Uint8Array[]; files: number; dirs: number; bytes: number; warnings: string[] }
export interface BackupDone { jobId: string; pointId: string }
export interface RestoreCommand { jobId: string; pointId: string; root: Uint8Array[]; target: string; paths: string[]; overwrite: boolean }
export interface ChunkRequest { jobId: string; batchId: number; hashes: Uint8Array[] }
export interface RestoreDone { jobId: string; files: number; bytes: number; warnings: string[] }
export interface JobFailed { jobId: string; message: string }
export interface CancelJob { jobId: string }

/** Every frame body, keyed by its oneof field name in strata.proto. */
export interface FrameBodies {
  challenge: Challenge; hello: Hello; enroll: Enroll; welcome: Welcome; error: ErrorMsg;
  ping: Ping; pong: Ping;
  backup: BackupCommand; chunkQuery: ChunkQuery; chunkQueryReply: ChunkQueryReply;
  chunkBatch: ChunkBatch; chunkBatchAck: ChunkBatchAck; progress: Progress;
  backupCommit: BackupCommit; backupDone: BackupDone;
  restore: RestoreCommand; chunkRequest: ChunkRequest; restoreDone: RestoreDone;
  jobFailed: JobFailed; cancelJob: CancelJob;
}
export type FrameKind = keyof FrameBodies;
export type Frame = { [K in FrameKind]: { kind: K; body: FrameBodies[K] } }[FrameKind];

/** What an agent may send, and what a server may send. */
export const AGENT_SENDS: ReadonlySet<FrameKind> = new Set<FrameKind>([
  'hello', 'enroll', 'error', 'ping', 'pong', 'chunkQuery', 'chunkBatch', 'progress', 'backupCommit',
  'chunkRequest', 'restoreDone', 'jobFailed',
]);
export const SERVER_SENDS: ReadonlySet<FrameKind> = new Set<FrameKind>([
  'challenge', 'welcome', 'error', 'ping', 'pong', 'backup', 'chunkQueryReply', 'chunkBatchAck', 'backupDone',
  'restore', 'chunkBatch', 'jobFailed', 'cancelJob',
]);

export interface Entry {
  name: Uint8Array; type: EntryType; mode: number; uid: number; gid: number; mtimeSec: number; mtimeNsec: number;
  ctimeSec: number; ctimeNsec: number; inode: number;
  size: number; linkTarget: Uint8Array; chunks: Uint8Array[];
}
export interface Tree { entries: Entry[] }
