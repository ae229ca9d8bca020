/**
 * Checks of the vault service's untrusted inputs (REST bodies, CLI) that
 * are not about targets (those are vault-targets.ts), and the mapping of
 * backend errors to StrataErrors for the API and CLI.
 */
import type { VaultTarget } from '../catalog/index.js';
import { invalid, StrataError } from '../errors.js';
import { VaultPassphraseTooShortError } from '../vault/index.js';
import { VaultError } from '../vault/backends/index.js';
import { MIN_PASSPHRASE_CHARS } from '../vault/format.js';

/** Azure Backup's longest soft-delete retention. */
export const SOFT_DELETE_DAYS_MAX = 180;

/** What POST /vaults and POST /vaults/attach take (untrusted; checked by the service). */
export interface VaultInput {
  name: unknown;
  target?: unknown;
  secondary?: unknown;
  redundancy?: unknown;
  passphrase: unknown;
  softDeleteDays?: unknown;
  immutable?: unknown;
}

/** Library and backend errors as StrataErrors (status and exit code), messages unchanged. */
export function asStrataError(err: unknown): unknown {
  if (!(err instanceof VaultError)) return err;
  const kind = ({ 'not-found': 'not-found', unreachable: 'transient', auth: 'auth', invalid: 'invalid', conflict: 'invalid', full: 'permanent', io: 'permanent' } as const)[err.kind];
  return Object.assign(new StrataError(err.code, err.message, kind), { httpStatus: err.httpStatus, cause: err });
}

/** At least 16 characters, checked before any KDF work or catalog row. */
export function checkPassphraseInput(p: unknown): string {
  if (typeof p !== 'string' || [...p.normalize('NFC')].length < MIN_PASSPHRASE_CHARS) throw new VaultPassphraseTooShortError(MIN_PASSPHRASE_CHARS);
  return p;
}

export function checkSoftDeleteDays(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > SOFT_DELETE_DAYS_MAX) {
    throw invalid(`softDeleteDays must be a whole number from 0 (soft delete off) to ${SOFT_DELETE_DAYS_MAX} days (got ${JSON.stringify(v)})`);
  }
  return v;
}

export function checkImmutable(v: unknown): boolean | undefined {
  if (v === undefined || typeof v === 'boolean') return v;
  throw invalid('immutable must be true or false');
}

/** The target without its one-shot options (create the container / bucket): stored, and used by every later open. */
export function oneShotStripped(t: VaultTarget): VaultTarget {
  const { createContainer: _c, createBucket: _b, ...config } = t.config;
  return { kind: t.kind, config };
}
