/**
 * The vault service (issue 4): connects the vault library (server/src/vault)
 * to the catalog, the REST API, the CLI and the scheduler. docs/vault-service.md.
 *
 * - create / attach: initialize (or open, for disaster recovery) the vault on
 *   its target(s) with the admin's passphrase, keep the unlocked key locally
 *   (`<data dir>/vault-state/<vault id>/vault-key.json`, 0600) so uploads run
 *   unattended, record the vault, and make sure `DefaultPolicy` exists.
 * - open: the library Vault over the primary, or over both targets
 *   (MirroredBackend) when there is a secondary; `reader()` for restores
 *   falls back to the secondary on unreachable / missing / corrupt reads.
 * - uploadPoint: sends a recovery point from the chunk store and records the
 *   online copy in the catalog only after its manifest is in the vault.
 * - deletePoint / undeletePoint / purgeExpired: soft delete (its state also
 *   in the vault as `deleted/<id>` markers, for disaster recovery),
 *   immutability; pruneVault reclaims packs (vault-pruning.ts).
 *
 * At most one upload, purge or pruning runs per vault at a time (the format relies
 * on it, docs/vault-format.md §9): they queue on a per-vault lock.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { DEFAULT_SOFT_DELETE_DAYS, type Catalog, type Vault as VaultRecord, type VaultPointRecord } from '../catalog/index.js';
import type { ChunkStore } from '../chunk-store/index.js';
import { conflict, invalid, notFound, StrataError } from '../errors.js';
import type { Logger } from '../log.js';
import { evaluateOnlineRetention } from '../retention/evaluate.js';
import { DEFAULT_ONLINE_POLICY_NAME, defaultOnlinePolicy, parseOnlinePolicy, type OnlinePolicySpec } from '../retention/policy.js';
import {
  attachVault, listDeletedMarkers, removeDeletedMarker, uploadPoint as libUploadPoint, Vault, writeDeletedMarker,
  type UploadPointOptions, type UploadProgress, type VaultOptions,
} from '../vault/index.js';
import { isVaultError, type VaultBackend } from '../vault/backends/index.js';
import { KeyedMutex } from './keyed-mutex.js';
import { VaultHandles, type OpenVault } from './vault-handles.js';
import { importVaultPoints, type ImportSummary } from './vault-import.js';
import { asStrataError, checkImmutable, checkPassphraseInput, checkSoftDeleteDays, oneShotStripped, type VaultInput } from './vault-input.js';
import { inStoreOrder } from './vault-upload-order.js';
import { MirroredBackend, type MirrorOptions } from './vault-mirror.js';
import { checkOnlineRetentionAllowed, RetentionRefusedError, VaultImmutableError } from './vault-protection.js';
import { notePruneOwed, pruneOpenVault, reconcileMarkers, type VaultPruneOptions, type VaultPruneResult } from './vault-pruning.js';
import { FallbackReader } from './vault-read.js';
import { checkVaultName, parseRedundancy, parseTarget } from './vault-targets.js';

export type { OpenVault } from './vault-handles.js';
export type { VaultPruneOptions, VaultPruneResult } from './vault-pruning.js';
export { asStrataError, SOFT_DELETE_DAYS_MAX, type VaultInput } from './vault-input.js';

export interface VaultServiceOptions {
  catalog: Catalog;
  store: ChunkStore;
  /** Local state (key files, known chunks) goes to <dataDir>/vault-state/<vault id>/; local vaults default to <dataDir>/vault/<name>. */
  dataDir: string;
  /** The server's zone: DefaultPolicy's timeZone. */
  timeZone?: string;
  log?: Logger;
  /** Retry policy and clock of the library's reads and writes (tests shorten them). */
  vaultOptions?: VaultOptions;
  mirror?: MirrorOptions;
  /** Upload tuning: pack size, parallel packs, bandwidth limits. */
  upload?: Pick<UploadPointOptions, 'packSize' | 'concurrency' | 'limitFor' | 'retry'>;
  /** Source of "now" for soft-delete times. */
  clock?: { now(): Date };
}

export interface VaultUploadResult extends UploadProgress {
  vaultId: string;
  vaultName: string;
  pointId: string;
  alreadyInVault: boolean;
  chunks: number;
  online: VaultPointRecord;
}

export interface PurgeResult {
  purged: string[];
  failed: { pointId: string; error: string }[];
  /** The pruning that followed, per vault that had work, and its totals. */
  pruning: {
    vaults: VaultPruneResult[];
    failed: { vaultId: string; vaultName: string; error: string }[];
    /** Vaults whose pack work waited for readers (done by the next run). */
    postponed: number;
    pointsRemoved: number;
    packsDeleted: number;
    packsRewritten: number;
    bytesFreed: number;
  };
}

export interface OnlineRetentionDecision { pointId: string; createdAt: Date; keep: boolean; reasons: string[] }

export class VaultService {
  private readonly handles: VaultHandles;
  /**
   * Per vault: a soft delete or undelete (marker, then catalog) and the
   * marker reconciliation of a pruning never interleave. Separate from the
   * upload queue, so a delete never waits for an upload.
   */
  private readonly markers = new KeyedMutex();
  private readonly catalog: Catalog;
  private readonly clock: { now(): Date };

  constructor(private readonly o: VaultServiceOptions) {
    this.catalog = o.catalog;
    this.clock = o.clock ?? { now: () => new Date() };
    this.handles = new VaultHandles(o);
  }

  stateDir(vaultId: string): string {
    return this.handles.stateDir(vaultId);
  }

  /** Resolve a vault by catalog id or name; NOT_FOUND otherwise. */
  async get(ref: string): Promise<VaultRecord> {
    const v = (await this.catalog.getVault(ref)) ?? (await this.catalog.getVaultByName(ref));
    if (!v) throw notFound('vault', ref);
    return v;
  }

  /** Create a new vault on empty target(s); refuses a short passphrase before anything is written. */
  async createVault(input: VaultInput): Promise<{ vault: VaultRecord; defaultPolicy: { id: string; name: string; created: boolean } }> {
    return this.setUp('create', input);
  }

  /**
   * Disaster recovery: attach an existing vault (only its credentials and the
   * passphrase needed), then record every recovery point it holds in the
   * catalog, recreating agents and data sources as needed.
   */
  async attach(input: VaultInput): Promise<{ vault: VaultRecord; defaultPolicy: { id: string; name: string; created: boolean }; imported: ImportSummary }> {
    const r = await this.setUp('attach', input);
    return { ...r, imported: r.imported! };
  }

  private async setUp(mode: 'create' | 'attach', input: VaultInput) {
    const name = checkVaultName(input.name);
    const passphrase = checkPassphraseInput(input.passphrase);
    const target = parseTarget(input.target ?? {}, 'target', mode === 'create' ? path.join(this.o.dataDir, 'vault', name) : undefined);
    const secondary = input.secondary === undefined || input.secondary === null ? null : parseTarget(input.secondary, 'secondary');
    const redundancy = parseRedundancy(input.redundancy, !!secondary);
    const softDeleteDays = checkSoftDeleteDays(input.softDeleteDays);
    const immutable = checkImmutable(input.immutable);
    if (await this.catalog.getVaultByName(name)) throw conflict(`vault '${name}' already exists`);
    await this.checkPoliciesAgainst(name, softDeleteDays ?? DEFAULT_SOFT_DELETE_DAYS, immutable ?? false);
    // The row reserves the name while the (slow, remote) set-up runs; it goes if the set-up fails.
    // createContainer / createBucket apply now, not at every later open (which must do no network I/O,
    // or a dead primary would keep the secondary from being read).
    const row = await this.catalog.createVault({
      name, kind: target.kind, config: oneShotStripped(target).config, secondary: secondary && oneShotStripped(secondary), redundancy, softDeleteDays, immutable,
      state: mode === 'create' ? 'creating' : 'attaching',
    });
    let handle: OpenVault | undefined;
    try {
      const { primary, secondary: sec, backend } = await this.handles.backends(row, target, secondary);
      try {
        const a = await attachVault(backend, passphrase, this.stateDir(row.id), { ...this.o.vaultOptions, create: mode === 'create' });
        handle = { record: row, vault: a.vault, known: a.known, primary, secondary: sec };
      } catch (err) {
        await backend.close?.();
        throw err;
      }
      const same = (await this.catalog.listVaults()).find((v) => v.vaultUid === handle!.vault.id && v.id !== row.id);
      if (same) throw conflict(`this vault (id ${handle.vault.id}) is already attached as '${same.name}'`);
      if (mode === 'attach' && sec) await sameVaultOnBoth(handle.primary, sec);
      // Soft-delete markers (deleted/<id>): a point deleted on the lost server comes back deleted, not live.
      const marks = mode === 'attach' ? await listDeletedMarkers(handle.vault) : undefined;
      for (const d of marks?.damaged ?? []) this.o.log?.warn({ vault: name, pointId: d.pointId, err: d.error }, 'attach: a soft-delete marker cannot be read; the point comes in live');
      const deleted = marks?.markers;
      const imported = mode === 'attach' ? await importVaultPoints(this.catalog, this.o.store, row, this.readerOf(handle, 'auto'), this.o.log, deleted) : undefined;
      const ready = (await this.catalog.updateVault(row.id, { state: 'ready', vaultUid: handle.vault.id }))!;
      handle.record = ready;
      this.handles.remember(handle);
      const defaultPolicy = await this.ensureDefaultPolicy();
      this.o.log?.info({ vault: name, vaultId: handle.vault.id, where: backend.description, mode }, 'vault ready');
      return { vault: ready, defaultPolicy, imported };
    } catch (err) {
      this.handles.forget(row.id);
      await handle?.known.close().catch(() => undefined);
      await handle?.vault.backend.close?.().catch(() => undefined);
      // Points imported before the failure go with the row (an attach can simply be rerun).
      for (const p of await this.catalog.listVaultPoints({ vaultId: row.id, state: 'all' }).catch(() => [])) await this.catalog.removeVaultPoint(p.pointId).catch(() => undefined);
      await this.catalog.deleteVault(row.id).catch(() => undefined);
      // The key may have been saved before the failure (e.g. the vault was attached already): it goes too.
      await fsp.rm(this.stateDir(row.id), { recursive: true, force: true }).catch(() => undefined);
      throw asStrataError(err);
    }
  }

  private async ensureDefaultPolicy() {
    return this.catalog.transaction(async (tx) => {
      const existing = await tx.getOnlinePolicyByName(DEFAULT_ONLINE_POLICY_NAME);
      const p = existing ?? (await tx.createOnlinePolicy({ name: DEFAULT_ONLINE_POLICY_NAME, spec: defaultOnlinePolicy(this.o.timeZone) }));
      return { id: p.id, name: p.name, created: !existing };
    });
  }

  /** The vault, unlocked with the saved key (no passphrase), over both targets when there is a secondary. Cached. */
  async open(ref: string): Promise<OpenVault> {
    const rec = await this.get(ref);
    if (rec.state !== 'ready') throw new StrataError('VAULT_NOT_READY', `vault '${rec.name}' is still being set up (${rec.state})`, 'transient');
    return this.handles.open(rec);
  }

  /**
   * A reader for restores: chunks and manifests from the primary, falling
   * back to the secondary when the primary is unreachable, lacks an object or
   * returns a damaged one. `target: 'secondary'` reads only the secondary
   * (cross-region restore on purpose).
   */
  async reader(ref: string, o: { target?: 'primary' | 'secondary' | 'auto' } = {}): Promise<FallbackReader> {
    return this.readerOf(await this.open(ref), o.target ?? 'auto');
  }

  private readerOf(h: OpenVault, target: 'primary' | 'secondary' | 'auto'): FallbackReader {
    const mk = (b: VaultBackend) => new Vault(b, h.vault.config, h.vault.keys, this.o.vaultOptions);
    if (target === 'secondary') {
      if (!h.secondary) throw invalid(`vault '${h.record.name}' has no secondary target (redundancy ${h.record.redundancy})`);
      return new FallbackReader(mk(h.secondary), h.known, null);
    }
    if (target === 'primary') return new FallbackReader(mk(h.primary), h.known, null);
    return new FallbackReader(h.vault, h.known, h.secondary ? mk(h.secondary) : null);
  }

  /** Which vault a point goes to: the one named, the point's own, or the only ready vault. */
  private async vaultFor(pointVaultId: string | null, ref?: string): Promise<VaultRecord> {
    if (ref) return this.get(ref);
    if (pointVaultId) return this.get(pointVaultId);
    const ready = (await this.catalog.listVaults()).filter((v) => v.state === 'ready');
    if (ready.length === 1) return ready[0]!;
    throw invalid(ready.length ? `there are ${ready.length} vaults: name the one to upload to` : 'no vault: create one with strata vault create');
  }

  /**
   * The scheduler's 'upload' job: send a recovery point on the server's disk
   * to the vault (every pack and index to both targets with a secondary) and
   * record its online copy in the catalog after the manifest is in the vault.
   * Resumable: a rerun after a failure or cancel sends only what is missing.
   * Raises the alert `vault-unreachable:<vault id>` when the vault cannot be
   * reached, and resolves it after the next successful upload.
   */
  async uploadPoint(pointId: string, o: { vault?: string; signal?: AbortSignal; onProgress?: (p: UploadProgress) => void } = {}): Promise<VaultUploadResult> {
    const point = await this.catalog.getRecoveryPoint(pointId);
    if (!point) throw notFound('recovery point', pointId);
    const rec = await this.vaultFor(point.vaultId, o.vault);
    const done = await this.catalog.getVaultPoint(pointId);
    if (done && done.vaultId === rec.id) {
      return { ...zero(), vaultId: rec.id, vaultName: rec.name, pointId, alreadyInVault: true, chunks: done.chunks, online: done };
    }
    if (done) throw conflict(`recovery point ${pointId} is already in vault ${done.vaultId}`);
    return this.handles.locked(rec.id, async () => {
      const [agent, source] = await Promise.all([this.catalog.getAgent(point.agentId), this.catalog.getDataSource(point.dataSourceId)]);
      const refs = await this.o.store.refs.open(pointId).catch((err: unknown) => {
        throw invalid(`recovery point ${pointId} has no ref list on the server's disk (${(err as Error).message}): nothing to upload`);
      });
      let r;
      try {
        const h = await this.open(rec.id);
        // Writes go to both targets: do not start (nor learn what the vault holds from one alone) while either is down.
        if (h.vault.backend instanceof MirroredBackend) await h.vault.backend.checkBoth();
        r = await libUploadPoint({
          ...this.o.upload, vault: h.vault, known: h.known, store: this.o.store, refs: inStoreOrder(this.o.store, refs.iterate()), signal: o.signal, onProgress: o.onProgress,
          point: {
            id: point.id, dataSourceId: point.dataSourceId, agentId: point.agentId, createdAt: point.createdAt, root: point.root,
            files: point.files, dirs: point.dirs, bytes: point.bytes, parentPointId: point.parentPointId,
            // What a disaster-recovery attach needs to rebuild the catalog from the vault alone.
            extra: {
              jobId: point.jobId, bytesAdded: point.bytesAdded,
              agent: agent ? { name: agent.name, hostname: agent.hostname } : null,
              dataSource: source ? { name: source.name, kind: source.kind, paths: source.paths, includes: source.includes, excludes: source.excludes } : null,
            },
          },
        });
      } catch (err) {
        const cause = (err as { cause?: unknown }).cause;
        if (isVaultError(err, 'unreachable') || isVaultError(cause, 'unreachable')) await this.raiseUnreachable(rec, err as Error);
        throw asStrataError(err);
      } finally {
        refs.close();
      }
      let chunks = r.chunks;
      let uploadedAt = r.point?.uploadedAt;
      if (r.alreadyInVault) {
        // The manifest was written but the catalog record was not (e.g. a crash in between): read it back.
        const vp = await (await this.reader(rec.id)).getPoint(pointId);
        chunks = vp.chunks;
        uploadedAt = vp.uploadedAt;
      }
      const online = await this.catalog.recordVaultPoint({ pointId, vaultId: rec.id, chunks, bytesSent: r.bytesSent, uploadedAt });
      await this.catalog.resolveAlert(`vault-unreachable:${rec.id}`);
      const { point: _p, packsSynced: _s, ...progress } = r;
      return { ...progress, vaultId: rec.id, vaultName: rec.name, chunks, online };
    });
  }

  private async raiseUnreachable(rec: VaultRecord, err: Error): Promise<void> {
    await this.catalog.raiseAlert({
      key: `vault-unreachable:${rec.id}`, kind: 'vault-unreachable', severity: 'error',
      subject: `Vault '${rec.name}' is unreachable`,
      message: `Online backups to vault '${rec.name}' cannot reach it: ${err.message}. Short-term protection goes on; uploads resume when it is back.`,
      details: { vaultId: rec.id, vaultName: rec.name },
    }).catch((e: unknown) => this.o.log?.error({ err: e }, 'cannot raise the vault-unreachable alert'));
  }

  /** The online copy of a point (live or soft-deleted), or null. */
  async onlineCopy(pointId: string): Promise<VaultPointRecord | null> {
    return this.catalog.getVaultPoint(pointId);
  }

  /** Online copies in a vault, with their points. */
  async listPoints(ref: string, state: 'live' | 'deleted' | 'all' = 'live') {
    const rec = await this.get(ref);
    const rows = await this.catalog.listVaultPoints({ vaultId: rec.id, state });
    const out = [];
    for (const r of rows) out.push({ ...r, point: await this.catalog.getRecoveryPoint(r.pointId) });
    return out;
  }

  /**
   * Delete an online point: soft delete (kept softDeleteDays, undeletable)
   * or, with soft delete off, at once. An immutable vault refuses an admin's
   * delete; `reason: 'retention'` (the policy's expiry) is allowed.
   */
  async deletePoint(pointId: string, o: { reason?: 'admin' | 'retention' } = {}): Promise<VaultPointRecord & { purged: boolean }> {
    const row = await this.catalog.getVaultPoint(pointId);
    if (!row) throw notFound('online recovery point', pointId);
    const rec = await this.get(row.vaultId);
    if (rec.immutable && (o.reason ?? 'admin') === 'admin') {
      throw new VaultImmutableError(rec.name, `online recovery point ${pointId} cannot be deleted; it expires with its policy's retention`);
    }
    if (row.deletedAt) return { ...row, purged: false };
    if (rec.softDeleteDays > 0) {
      const now = this.clock.now();
      const purgeAfter = new Date(now.getTime() + rec.softDeleteDays * 86_400_000);
      // The vault's marker first (both targets), then the catalog: a crash in between leaves the point live
      // here (the delete reported failure and can be rerun) with a marker that a disaster-recovery attach would
      // read as deleted — undeletable there — until the next pruning removes the stray marker (reconcileMarkers).
      // The other order could leave a deleted point that an attach revives.
      const h = await this.open(rec.id);
      return this.markers.locked(rec.id, async () => {
        await writeDeletedMarker(h.vault, { pointId, deletedAt: now, purgeAfter, reason: o.reason ?? 'admin' }).catch((err: unknown) => {
          throw asStrataError(err);
        });
        return { ...(await this.catalog.softDeleteVaultPoint(pointId, purgeAfter, now))!, purged: false };
      });
    }
    await this.handles.locked(rec.id, () => this.purgeOne(rec, pointId));
    return { ...row, purged: true };
  }

  /**
   * GFS retention of one data source's online points: every live online
   * copy the policy no longer holds is deleted with reason 'retention' (soft
   * delete; allowed on an immutable vault, since the point has expired).
   * With `keepNewest` the newest live copy is always kept (reason
   * 'newest-point-kept'), as the scheduler does for each tier. The scheduler
   * calls it after an upload and when a policy or group changes.
   */
  async applyOnlineRetention(dataSourceId: string, spec: OnlinePolicySpec, now: Date = this.clock.now(), o: { keepNewest?: boolean } = {}): Promise<OnlineRetentionDecision[]> {
    const out = await this.onlineRetention(dataSourceId, spec, now, o);
    for (const d of out) if (!d.keep) await this.deletePoint(d.pointId, { reason: 'retention' });
    return out;
  }

  /** What applyOnlineRetention would decide now, deleting nothing (the same evaluation). */
  async onlineRetention(dataSourceId: string, spec: OnlinePolicySpec, now: Date = this.clock.now(), o: { keepNewest?: boolean } = {}): Promise<OnlineRetentionDecision[]> {
    const online: { pointId: string; createdAt: Date }[] = [];
    for (const p of await this.catalog.listRecoveryPoints({ dataSourceId })) {
      if (p.location === 'disk') continue;
      const row = await this.catalog.getVaultPoint(p.id);
      if (row && !row.deletedAt) online.push({ pointId: p.id, createdAt: p.createdAt });
    }
    const decisions = evaluateOnlineRetention(online.map((p) => p.createdAt), spec, now);
    const out = decisions.map((d, i) => ({ pointId: online[i]!.pointId, createdAt: online[i]!.createdAt, keep: d.keep, reasons: d.reasons }));
    if (o.keepNewest) {
      const newest = out.filter((d) => d.createdAt <= now).reduce<OnlineRetentionDecision | null>((a, d) => (!a || d.createdAt > a.createdAt ? d : a), null);
      if (newest && !newest.keep) {
        newest.keep = true;
        newest.reasons = [...newest.reasons, 'newest-point-kept'];
      }
    }
    return out;
  }

  async undeletePoint(pointId: string, vaultRef?: string): Promise<VaultPointRecord> {
    const row = await this.catalog.getVaultPoint(pointId);
    if (!row) throw notFound('online recovery point', pointId);
    if (vaultRef && (await this.get(vaultRef)).id !== row.vaultId) throw notFound(`online recovery point in vault '${vaultRef}'`, pointId);
    if (!row.deletedAt) throw conflict(`online recovery point ${pointId} is not deleted`);
    // Marker first, then the catalog. A crash in between leaves the catalog saying deleted (the undelete
    // reported failure; rerunning it finishes) and no marker: the vault never says deleted about a point the
    // catalog says live. The other order could leave a live point whose stale marker makes a later
    // disaster-recovery attach import it as deleted and, past purgeAfter, purge it.
    const h = await this.open(row.vaultId);
    return this.markers.locked(row.vaultId, async () => {
      await removeDeletedMarker(h.vault, pointId).catch((err: unknown) => {
        throw asStrataError(err);
      });
      return (await this.catalog.undeleteVaultPoint(pointId))!;
    });
  }

  private readonly readers = new Map<string, number>();

  /**
   * A restore or verify reading this vault: pack rewrites and deletions
   * (pruning) wait until every reader released, so a chunk never leaves a
   * pack a running restore is about to read. Call release() exactly once.
   * A read asked for while a pruning rewrites or deletes packs waits for it
   * to end (the read then sees the vault as it is after the pruning).
   */
  async acquireRead(ref: string): Promise<{ release(): void }> {
    const rec = await this.get(ref);
    for (let p = this.packWork.get(rec.id); p; p = this.packWork.get(rec.id)) await p.catch(() => undefined);
    // No await from here to the count: a pruning checks the count and registers in one step too.
    this.readers.set(rec.id, (this.readers.get(rec.id) ?? 0) + 1);
    let done = false;
    return {
      release: () => {
        if (done) return;
        done = true;
        const n = (this.readers.get(rec.id) ?? 1) - 1;
        if (n > 0) this.readers.set(rec.id, n);
        else this.readers.delete(rec.id);
      },
    };
  }

  /** Prunings rewriting or deleting packs now, by vault: new readers wait for them. */
  private readonly packWork = new Map<string, Promise<unknown>>();

  /** Runs a pruning's pack work unless readers hold the vault (then null); readers arriving meanwhile wait. */
  private withoutReaders<T>(vaultId: string, fn: () => Promise<T>): Promise<T> | null {
    if (this.activeReaders(vaultId) > 0) return null;
    const p = fn();
    this.packWork.set(vaultId, p);
    void p.catch(() => undefined).finally(() => {
      if (this.packWork.get(vaultId) === p) this.packWork.delete(vaultId);
    });
    return p;
  }

  /** Readers (restores, verifies) holding this vault now. */
  activeReaders(vaultId: string): number {
    return this.readers.get(vaultId) ?? 0;
  }

  /**
   * The daily purge (the scheduled GC job): soft-deleted points whose time is
   * up leave the vault (manifest, refs, then marker; both targets) and the
   * catalog; then each vault is pruned once (pruneVault, `onlyIfNeeded`): the
   * packs only the purged points held are deleted or rewritten, unless
   * readers hold the vault (postponed to the next run).
   */
  async purgeExpired(now: Date = this.clock.now(), o: { signal?: AbortSignal } = {}): Promise<PurgeResult> {
    const purged: string[] = [];
    const failed: { pointId: string; error: string }[] = [];
    const byVault = new Map<string, string[]>();
    for (const row of await this.catalog.listPurgeableVaultPoints(now)) {
      try {
        const rec = await this.get(row.vaultId);
        await this.handles.locked(rec.id, () => this.purgeOne(rec, row.pointId));
        purged.push(row.pointId);
        byVault.set(rec.id, [...(byVault.get(rec.id) ?? []), row.pointId]);
      } catch (err) {
        failed.push({ pointId: row.pointId, error: (err as Error).message });
      }
    }
    const pruned: VaultPruneResult[] = [];
    const pruneFailed: { vaultId: string; vaultName: string; error: string }[] = [];
    for (const v of await this.catalog.listVaults()) {
      if (v.state !== 'ready') continue;
      try {
        pruned.push(await this.pruneVault(v.id, { deletePointIds: byVault.get(v.id) ?? [], onlyIfNeeded: true, signal: o.signal, now }));
      } catch (err) {
        // An unreachable vault or a held lease: the prune.pending file keeps the debt for the next run.
        pruneFailed.push({ vaultId: v.id, vaultName: v.name, error: (err as Error).message });
        this.o.log?.warn({ vault: v.name, err: (err as Error).message }, 'vault pruning failed; the next daily run retries');
      }
    }
    const ran = pruned.filter((r) => !r.skipped);
    return {
      purged, failed,
      pruning: {
        vaults: ran, failed: pruneFailed,
        postponed: ran.filter((r) => r.postponed).length,
        pointsRemoved: ran.reduce((a, r) => a + r.pointIds.length, 0),
        packsDeleted: ran.reduce((a, r) => a + r.packsDeleted, 0),
        packsRewritten: ran.reduce((a, r) => a + r.packsRewritten, 0),
        bytesFreed: ran.reduce((a, r) => a + r.bytesFreed, 0),
      },
    };
  }

  /**
   * Reclaim the vault's space (docs/vault-service.md, "Purge and pruning"):
   * removes the points named and the expired ones the vault's own markers
   * name and the catalog no longer holds, then the library's pruneVault
   * deletes dead packs and rewrites sparse ones, under the vault's lock (no
   * upload or purge of this service meanwhile) and its exclusive lease.
   * While restores or verifies read the vault, packs are left alone
   * (`postponed`).
   */
  async pruneVault(ref: string, o: VaultPruneOptions & { now?: Date } = {}): Promise<VaultPruneResult & { markersWritten: number; markersRemoved: number }> {
    const rec = await this.get(ref);
    return this.handles.locked(rec.id, async () => {
      const h = await this.open(rec.id);
      try {
        // Markers follow the catalog first (a crashed delete or undelete, points deleted before markers existed).
        const fixed = await this.markers.locked(rec.id, () => reconcileMarkers(this.catalog, h, o.signal));
        if (fixed.written + fixed.removed) this.o.log?.info({ vault: rec.name, ...fixed }, 'soft-delete markers brought in line with the catalog');
        return { ...(await pruneOpenVault({
          catalog: this.catalog, h, stateDir: this.stateDir(rec.id), now: o.now ?? this.clock.now(),
          readers: () => this.activeReaders(rec.id), withoutReaders: (fn) => this.withoutReaders(rec.id, fn),
          packSize: this.o.upload?.packSize, log: this.o.log,
        }, o)), markersWritten: fixed.written, markersRemoved: fixed.removed };
      } catch (err) {
        throw asStrataError(err);
      }
    });
  }

  /** docs/vault-format.md §8.11: the manifest goes first (the point stops existing), then its refs, then its marker. */
  private async purgeOne(rec: VaultRecord, pointId: string): Promise<void> {
    const h = await this.open(rec.id);
    await notePruneOwed(this.stateDir(rec.id), this.clock.now());
    try {
      await h.vault.backend.delete(`points/${pointId}`);
      await h.vault.backend.delete(`refs/${pointId}`);
      await removeDeletedMarker(h.vault, pointId);
    } catch (err) {
      throw asStrataError(err);
    }
    const { pointDeleted } = await this.catalog.removeVaultPoint(pointId);
    // A point that was only in the vault is gone: so is its (empty) ref list in the chunk store.
    if (pointDeleted) await this.o.store.refs.delete(pointId).catch(() => undefined);
  }

  /** Change soft-delete days or turn immutability on (it cannot be turned off). */
  async update(ref: string, patch: { softDeleteDays?: unknown; immutable?: unknown }): Promise<VaultRecord> {
    const rec = await this.get(ref);
    const softDeleteDays = checkSoftDeleteDays(patch.softDeleteDays);
    const immutable = checkImmutable(patch.immutable);
    if (softDeleteDays === undefined && immutable === undefined) throw invalid('nothing to change: give softDeleteDays and / or immutable');
    if (rec.immutable && immutable === false) throw new VaultImmutableError(rec.name, 'immutability cannot be turned off');
    if (rec.immutable && softDeleteDays !== undefined && softDeleteDays < rec.softDeleteDays) {
      throw new VaultImmutableError(rec.name, `soft-delete days cannot be lowered (${rec.softDeleteDays} -> ${softDeleteDays})`);
    }
    await this.checkPoliciesAgainst(rec.name, softDeleteDays ?? rec.softDeleteDays, immutable ?? rec.immutable);
    return (await this.catalog.updateVault(rec.id, { softDeleteDays, immutable }))!;
  }

  /** Protections being turned on may not leave an existing online policy below Azure's minimums. */
  private async checkPoliciesAgainst(name: string, softDeleteDays: number, immutable: boolean): Promise<void> {
    if (!softDeleteDays && !immutable) return;
    const probe = { name, softDeleteDays, immutable } as VaultRecord;
    for (const p of await this.catalog.listOnlinePolicies()) {
      try {
        checkOnlineRetentionAllowed(parseOnlinePolicy(p.spec, this.o.timeZone), [probe]);
      } catch (err) {
        if (err instanceof RetentionRefusedError) throw new RetentionRefusedError(`online policy '${p.name}': ${err.message}; change the policy first`);
        throw err;
      }
    }
  }

  /** Close every open vault (known-chunks files, backend connections). Waits for running uploads. */
  async close(): Promise<void> {
    await this.handles.close();
  }
}

/** Attaching with a secondary: it must hold a copy of the same vault (the same config object). */
async function sameVaultOnBoth(primary: VaultBackend, secondary: VaultBackend): Promise<void> {
  const [a, b] = await Promise.all([primary.get('config'), secondary.get('config').catch((err: unknown) => {
    if (isVaultError(err, 'not-found')) return null;
    throw err;
  })]);
  if (!b || !a.equals(b)) {
    throw invalid(`the secondary target ${secondary.description} does not hold a copy of this vault${b ? ' (its config differs)' : ' (it is empty)'}: attach with the target(s) the vault was created with`);
  }
}

const shared = new WeakMap<Catalog, Map<string, VaultService>>();

/**
 * The one VaultService of a catalog and data dir in this process. Two
 * services on one data dir would both append to a vault's known-chunks log
 * and run uploads side by side: the server, its API routes and the
 * scheduler must share one, and this hands out the same one to each
 * (options of later calls are ignored).
 */
export function sharedVaultService(o: VaultServiceOptions): VaultService {
  let byDir = shared.get(o.catalog);
  if (!byDir) shared.set(o.catalog, (byDir = new Map()));
  const key = path.resolve(o.dataDir);
  let s = byDir.get(key);
  if (!s) byDir.set(key, (s = new VaultService(o)));
  return s;
}

function zero(): UploadProgress {
  return { chunksSeen: 0, chunksSkipped: 0, chunksSent: 0, packsSent: 0, bytesSent: 0, rawBytesSent: 0 };
}
