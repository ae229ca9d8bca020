/**
 * Typed errors of the chunk store. Every error has a stable `code`, a `kind`
 * (only the retry layer looks at it) and an HTTP status for the API, and its
 * message names the store directory and the object (digest, pack, point).
 *
 * StrataError is the project-wide base; it lives here until the lead moves it.
 */

export type ErrorKind = 'not-found' | 'permanent' | 'transient';

export class StrataError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly httpStatus: number;
  constructor(code: string, kind: ErrorKind, httpStatus: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.kind = kind;
    this.httpStatus = httpStatus;
  }
}

export class ChunkNotFoundError extends StrataError {
  constructor(readonly storeDir: string, readonly digest: string, readonly pack?: string) {
    super('CHUNK_NOT_FOUND', 'not-found', 404,
      `chunk ${digest} not found in store ${storeDir}${pack ? ` (pack ${pack} is missing)` : ''}`);
  }
}

export class ChunkCorruptError extends StrataError {
  constructor(readonly storeDir: string, readonly digest: string, readonly pack: string, readonly reason: string) {
    super('CHUNK_CORRUPT', 'permanent', 500, `chunk ${digest} in store ${storeDir} is damaged in pack ${pack}: ${reason}`);
  }
}

/** The bytes an agent sent do not hash to the name it gave them. Nothing was stored. */
export class ChunkHashMismatchError extends StrataError {
  constructor(readonly digest: string, readonly reason: string) {
    super('CHUNK_HASH_MISMATCH', 'permanent', 400, `chunk ${digest} refused: ${reason}`);
  }
}

/** Malformed chunk metadata (size limits, unknown compression, bad hash length). */
export class ChunkInvalidError extends StrataError {
  constructor(readonly digest: string, readonly reason: string) {
    super('CHUNK_INVALID', 'permanent', 400, `chunk ${digest} refused: ${reason}`);
  }
}

export class StoreDiskFullError extends StrataError {
  constructor(readonly storeDir: string, what: string, cause?: unknown) {
    super('STORE_DISK_FULL', 'transient', 507,
      `no space left on the disk of chunk store ${storeDir} while ${what}; free space or prune recovery points, then retry`,
      { cause });
  }
}

export class StoreIoError extends StrataError {
  constructor(readonly storeDir: string, what: string, cause?: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super('STORE_IO', 'transient', 500, `I/O error in chunk store ${storeDir} while ${what}: ${detail}`, { cause });
  }
}

export class StoreFormatError extends StrataError {
  constructor(readonly storeDir: string, readonly file: string, reason: string) {
    super('STORE_FORMAT', 'permanent', 500, `chunk store ${storeDir}: ${file}: ${reason}`);
  }
}

export class StoreLockedError extends StrataError {
  constructor(readonly storeDir: string, holder: string) {
    super('STORE_LOCKED', 'transient', 409, `chunk store ${storeDir} is already open (${holder})`);
  }
}

export class StoreClosedError extends StrataError {
  constructor(readonly storeDir: string) {
    super('STORE_CLOSED', 'transient', 503, `chunk store ${storeDir} is closed`);
  }
}

export class GcRunningError extends StrataError {
  constructor(readonly storeDir: string, what: string) {
    super('STORE_BUSY', 'transient', 409, `chunk store ${storeDir}: cannot ${what} while garbage collection runs`);
  }
}

export class InvalidPointIdError extends StrataError {
  constructor(readonly pointId: string) {
    super('REF_INVALID_POINT_ID', 'permanent', 400,
      `invalid recovery point id ${JSON.stringify(pointId)}: use 1-128 characters [A-Za-z0-9_.-], not starting with '.'`);
  }
}

export class RefListNotFoundError extends StrataError {
  constructor(readonly storeDir: string, readonly pointId: string) {
    super('REF_LIST_NOT_FOUND', 'not-found', 404, `no chunk reference list for recovery point ${pointId} in store ${storeDir}`);
  }
}

const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);

/** errno code of a Node fs error, if any. */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
    ? (err as { code: string }).code
    : undefined;
}

/**
 * Map a raw error from the file system to a typed store error:
 * ENOSPC/EDQUOT → StoreDiskFullError, other errno errors → StoreIoError,
 * typed errors pass through unchanged.
 */
export function toStoreError(err: unknown, storeDir: string, what: string): Error {
  if (err instanceof StrataError) return err;
  const code = errnoCode(err);
  if (code && DISK_FULL_CODES.has(code)) return new StoreDiskFullError(storeDir, what, err);
  if (code && /^E[A-Z]+$/.test(code)) return new StoreIoError(storeDir, what, err);
  return err instanceof Error ? err : new Error(String(err));
}
