/**
 * Errors the agent's data path raises, each with a stable code and a message
 * written for the admin that names the path or digest concerned.
 */
export type AgentErrorCode =
  | 'SOURCE_MISSING'      // a backup source folder does not exist or is not a folder
  | 'SOURCE_INVALID'      // a source path is not absolute
  | 'SOURCE_UNREADABLE'   // a backup source folder cannot be listed
  | 'CHUNK_CORRUPT'       // a fetched chunk does not match its hash, or does not decompress
  | 'TREE_INVALID'        // a recovery-point tree is malformed or hostile (bad names, duplicates, escapes)
  | 'TARGET_INVALID'      // a restore target or selected path is not usable
  | 'PROTOCOL'            // the uplink/downlink answered out of contract (wrong count, wrong hash)
  | 'CANCELLED';

export class AgentError extends Error {
  constructor(public readonly code: AgentErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AgentError';
  }
}

/** Throws the signal's reason as a CANCELLED AgentError if the job was cancelled. */
export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AgentError('CANCELLED', 'job cancelled', { cause: signal.reason });
}

/** The errno code of a Node system error, or undefined. */
export function errCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}
