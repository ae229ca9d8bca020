/**
 * Typed errors of the vault core (format, crypto, uploader, reader). Each
 * names the vault (its backend description) and the object or chunk; `kind`
 * sorts them for the retry layer and the API. Backend errors (VaultError from
 * ./backends/backend.ts) pass through unchanged.
 */
import { StrataError, type ErrorKind } from '../errors.js';

class VaultCoreError extends StrataError {
  constructor(code: string, message: string, kind: ErrorKind) {
    super(code, message, kind);
    this.name = new.target.name;
  }
}

export class VaultPassphraseTooShortError extends VaultCoreError {
  constructor(min: number) {
    super('VAULT_PASSPHRASE_TOO_SHORT', `the vault passphrase must be at least ${min} characters long`, 'invalid');
  }
}

export class VaultWrongPassphraseError extends VaultCoreError {
  constructor(readonly vault: string) {
    super('VAULT_WRONG_PASSPHRASE',
      `wrong passphrase for vault ${vault} (the vault's wrapped key did not authenticate; if the passphrase is right, its config object was altered)`,
      'auth');
  }
}

export class VaultKeyMismatchError extends VaultCoreError {
  constructor(readonly vault: string, reason: string) {
    super('VAULT_KEY_MISMATCH', `the saved key does not belong to vault ${vault}: ${reason}`, 'auth');
  }
}

export class VaultNotInitializedError extends VaultCoreError {
  constructor(readonly vault: string) {
    super('VAULT_NOT_INITIALIZED', `no Strata vault at ${vault} (it has no config object); create one first`, 'not-found');
  }
}

export class VaultExistsError extends VaultCoreError {
  constructor(readonly vault: string) {
    super('VAULT_EXISTS', `a Strata vault already exists at ${vault}; attach to it with its passphrase instead`, 'invalid');
  }
}

/** The config is unreadable, of an unknown version, or asks for unacceptable KDF parameters. */
export class VaultFormatError extends VaultCoreError {
  constructor(readonly vault: string, readonly key: string, reason: string) {
    super('VAULT_FORMAT', `vault ${vault}: ${key}: ${reason}`, 'permanent');
  }
}

/** An object failed authentication or its checks: damaged in storage, or tampered with. Nothing of it is used. */
export class VaultCorruptError extends VaultCoreError {
  constructor(readonly vault: string, readonly key: string, readonly reason: string, readonly chunk?: string) {
    super('VAULT_CORRUPT',
      `vault ${vault}: object ${key} is damaged or was tampered with${chunk ? ` (chunk ${chunk})` : ''}: ${reason}`,
      'permanent');
  }
}

export class VaultChunkNotFoundError extends VaultCoreError {
  constructor(readonly vault: string, readonly chunk: string) {
    super('VAULT_CHUNK_NOT_FOUND', `chunk ${chunk} is not in vault ${vault}`, 'not-found');
  }
}

export class VaultPointNotFoundError extends VaultCoreError {
  constructor(readonly vault: string, readonly pointId: string) {
    super('VAULT_POINT_NOT_FOUND', `recovery point ${pointId} is not in vault ${vault}`, 'not-found');
  }
}

export class VaultUploadAbortedError extends VaultCoreError {
  constructor(readonly vault: string, readonly pointId: string) {
    super('VAULT_UPLOAD_ABORTED',
      `upload of recovery point ${pointId} to vault ${vault} was cancelled; a rerun continues where it stopped`, 'transient');
  }
}

export class VaultPointTooLargeError extends VaultCoreError {
  constructor(readonly vault: string, readonly pointId: string, max: number) {
    super('VAULT_POINT_TOO_LARGE',
      `recovery point ${pointId} references more than ${max} chunks, the most vault format version 1 records for one point (vault ${vault})`,
      'invalid');
  }
}

/** Local state (known-chunks log, key file) that cannot be used. */
export class VaultStateError extends VaultCoreError {
  constructor(readonly file: string, reason: string) {
    super('VAULT_STATE', `vault state file ${file}: ${reason}`, 'permanent');
  }
}

interface LeaseHolder {
  kind: string;
  owner: string;
  expiresAt: string;
}

const holderText = (h: LeaseHolder | undefined) =>
  (h ? `${h.kind} lease held by ${h.owner} until ${h.expiresAt}` : 'a lease of another writer');

/** Another writer holds a live lease that excludes this work (§9). Transient: retry after it ends or expires. */
export class VaultLeaseHeldError extends VaultCoreError {
  constructor(readonly vault: string, readonly wanted: string, readonly holder: LeaseHolder | undefined) {
    super('VAULT_LEASE_HELD',
      `vault ${vault}: cannot start ${wanted === 'upload' ? 'an upload' : wanted === 'prune' ? 'pruning' : 'orphan removal'}: ${holderText(holder)}; try again after it ends or expires`,
      'transient');
  }
}

/** This writer's lease expired unrenewed or was taken over: it stopped before its next step (§9). */
export class VaultLeaseLostError extends VaultCoreError {
  constructor(readonly vault: string, readonly mine: LeaseHolder, readonly holder: LeaseHolder | undefined) {
    super('VAULT_LEASE_LOST',
      `vault ${vault}: the ${mine.kind} lease of ${mine.owner} was lost (${holder ? `now ${holderText(holder)}` : 'expired without renewal'}); stopped, a rerun continues`,
      'transient');
  }
}
