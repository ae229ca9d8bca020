/**
 * vault — the cloud tier's format and core library (format:
 * docs/vault-format.md). Backends (where objects are stored) live in
 * ./backends; this folder owns what the objects mean.
 *
 * Owns: the config and keys (scrypt-wrapped master key, HKDF subkeys,
 * HMAC chunk ids), encrypted packs, index objects, point manifests, the local
 * known-chunks log, the uploader and the reader.
 *
 * Promises:
 *  - the vault only ever holds ciphertext, KDF parameters and the wrapped
 *    key: never the passphrase, the master key or plaintext chunk hashes;
 *  - every object is authenticated (AES-256-GCM, AAD bound to its key and
 *    type); a wrong passphrase or a damaged object is a typed, clear error,
 *    never garbage; every chunk read is SHA-256-checked;
 *  - a recovery point exists in the vault only once its manifest does, and
 *    the manifest is written after every chunk it needs is in an indexed pack;
 *  - an interrupted upload resumes without resending complete packs.
 *
 * Imports: ./backends, ../chunk-store (types and the point-id rule), ../util,
 * ../errors — nothing above (no catalog, jobs, api).
 *
 * Use (the scheduler's upload job):
 *
 *   // once, at `strata vault create|attach` (admin gives the passphrase):
 *   await attachVault(backend, passphrase, stateDir, { create });
 *   // every job, unattended:
 *   const { vault, known } = await openAttachedVault(backend, stateDir);
 *   const refs = await store.refs.open(point.id);       // the point's ref list
 *   try {
 *     const r = await uploadPoint({ vault, known, store, point: { id, dataSourceId, agentId,
 *       createdAt, root, files, dirs, bytes, parentPointId, extra }, refs, signal,
 *       onProgress, limitFor: workHoursLimit({ workHours, offHours }) });
 *   } finally { refs.close(); }
 *   // keep `vault` and `known` open across jobs; one KnownChunks per state dir.
 *
 * Pruning (the retention job, after the catalog has decided which online
 * points expire): under the exclusive lease, refused (VaultLeaseHeldError,
 * transient) while an upload runs, and uploads are refused while it runs.
 *
 *   const r = await pruneVault({ vault, known, deletePointIds: expiredIds, // or keepPointIds
 *     rewriteBelow: 0.5, signal, onProgress });
 *   // r: { pointsRemoved, packsDeleted, packsRewritten, packsWritten, chunksCopied,
 *   //      orphansRemoved, bytesFreed, bytesRewritten }; rerun after a failure.
 *
 * Soft delete (deleted.ts): `deleted/<pointId>` markers carry a point's
 * soft-delete state into the vault, for a disaster-recovery attach.
 */
export { createVault, openVault, Vault } from './vault.js';
export type { VaultOptions, VaultSecret } from './vault.js';
export { loadVaultKey, saveVaultKey } from './key-file.js';
export { attachVault, keyFileIn, openAttachedVault } from './attach.js';
export type { AttachedVault } from './attach.js';
export type { VaultKeyFile } from './key-file.js';
export { KnownChunks } from './known-chunks.js';
export type { KnownLocation } from './known-chunks.js';
export { uploadPoint } from './uploader.js';
export type { ChunkSource, UploadPointOptions, UploadProgress, UploadResult } from './uploader.js';
export { VaultReader } from './reader.js';
export { findOrphanPacks, removeOrphanPacks } from './orphans.js';
export type { RemoveOrphansOptions } from './orphans.js';
export { pruneVault } from './prune.js';
export type { PruneOptions, PruneProgress, PruneResult } from './prune.js';
export { planPrune, liveShare } from './prune-plan.js';
export { EXCLUSIVE_LEASE_KEY, Lease, LEASE_TTL_DEFAULT_MS, readLease, UPLOAD_LEASE_PREFIX } from './lease.js';
export type { LeaseKind, LeaseOptions, LeaseRecord } from './lease.js';
export { verifyVault } from './verify.js';
export { deletedKey, listDeletedMarkers, readDeletedMarker, removeDeletedMarker, writeDeletedMarker } from './deleted.js';
export type { DeletedMarker } from './deleted.js';
export type { VaultDamage, VaultVerifyResult, VerifyOptions } from './verify.js';
export type { VaultPoint, VaultPointInput } from './manifest.js';
export { systemClock, Throttle, withRetry, workHoursLimit } from './transfer.js';
export type { Clock, LimitFor, RetryOptions } from './transfer.js';
export {
  VaultChunkNotFoundError, VaultCorruptError, VaultExistsError, VaultFormatError, VaultKeyMismatchError,
  VaultNotInitializedError, VaultPassphraseTooShortError, VaultPointNotFoundError, VaultPointTooLargeError, VaultStateError,
  VaultUploadAbortedError, VaultWrongPassphraseError, VaultLeaseHeldError, VaultLeaseLostError,
} from './errors.js';
