/**
 * Leases (docs/vault-format.md §9): who may write to the vault right now.
 * An upload holds a shared lease `locks/upload-<owner>`; pruning and orphan
 * removal hold the exclusive lease `locks/exclusive`. Each lease object is a
 * small plaintext JSON record (no secrets) with its owner and an expiry that
 * its holder renews while it works; an expired lease is stale and is taken
 * over. Exclusion between an upload and a prune needs no compare-and-swap:
 * each writes its own lease first, then looks for the other's, so with a
 * consistent backend at least one of two racing writers sees the other and
 * backs off. Two exclusive writers rely on `ifAbsent` (exact on the local
 * folder and Azure, best-effort on S3 servers that ignore If-None-Match),
 * plus a read-back of `locks/exclusive` after taking it.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isVaultError } from './backends/backend.js';
import { VaultLeaseHeldError, VaultLeaseLostError } from './errors.js';
import { withRetry } from './transfer.js';
import type { Vault } from './vault.js';

export const LEASE_FORMAT = 'strata-vault-lease';
export const EXCLUSIVE_LEASE_KEY = 'locks/exclusive';
export const UPLOAD_LEASE_PREFIX = 'locks/upload-';
/** Default lease lifetime: a holder that stops renewing for this long is presumed dead. */
export const LEASE_TTL_DEFAULT_MS = 10 * 60_000;

export type LeaseKind = 'upload' | 'prune' | 'orphans';

export interface LeaseRecord {
  kind: LeaseKind;
  owner: string;
  acquiredAt: string;
  expiresAt: string;
}

export interface LeaseOptions {
  /** Who holds it, for messages (default `<hostname>/<pid>/<random>`). Must be unique per writer. */
  owner?: string;
  /** Lifetime of the lease after each renewal (default 10 min). */
  ttlMs?: number;
  /** Renew on a real timer as well as at each step (default true; tests with a fake clock turn it off). */
  timer?: boolean;
}

export function defaultOwner(): string {
  return `${hostname().replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64) || 'host'}.${process.pid}.${randomBytes(4).toString('hex')}`;
}

function encode(r: LeaseRecord): Buffer {
  return Buffer.from(JSON.stringify({ format: LEASE_FORMAT, version: 1, ...r }), 'utf8');
}

/** A lease object, or undefined when it is missing or unreadable (an unreadable lease counts as stale). */
export async function readLease(vault: Vault, key: string, signal?: AbortSignal): Promise<LeaseRecord | undefined> {
  const data = await getIfPresent(vault, key, signal);
  if (!data) return undefined;
  try {
    const j = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
    if (j.format !== LEASE_FORMAT || typeof j.owner !== 'string' || typeof j.expiresAt !== 'string') return undefined;
    return { kind: j.kind as LeaseKind, owner: j.owner, acquiredAt: String(j.acquiredAt), expiresAt: j.expiresAt };
  } catch {
    return undefined;
  }
}

/**
 * HEAD, then GET: a missing object costs no failed GET (a mirrored backend
 * would log a failed GET on its primary as a fallback to the secondary).
 */
export async function getIfPresent(vault: Vault, key: string, signal?: AbortSignal): Promise<Buffer | undefined> {
  if (!(await withRetry(() => vault.backend.head(key), vault.retry, vault.clock, signal))) return undefined;
  try {
    return await withRetry(() => vault.backend.get(key), vault.retry, vault.clock, signal);
  } catch (err) {
    if (isVaultError(err, 'not-found')) return undefined; // deleted in between
    throw err;
  }
}

const live = (r: LeaseRecord | undefined, now: number): boolean => !!r && Date.parse(r.expiresAt) > now;

/** A lease this process holds. Call `check()` at each step: it renews when due and throws if the lease was lost. */
export class Lease {
  private renewedAt: number;
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private released = false;
  private failure: unknown;

  private constructor(readonly vault: Vault, readonly key: string, readonly record: LeaseRecord, readonly ttlMs: number, now: number) {
    this.renewedAt = now;
  }

  get kind(): LeaseKind {
    return this.record.kind;
  }

  get owner(): string {
    return this.record.owner;
  }

  /** Take a shared upload lease; refused while a live exclusive (prune / orphan removal) lease exists. */
  static async upload(vault: Vault, o: LeaseOptions = {}, signal?: AbortSignal): Promise<Lease> {
    const owner = o.owner ?? defaultOwner();
    const lease = Lease.make(vault, `${UPLOAD_LEASE_PREFIX}${owner}`, 'upload', owner, o);
    await lease.write(false, signal);
    const ex = await readLease(vault, EXCLUSIVE_LEASE_KEY, signal).catch(async (err: unknown) => {
      await lease.release();
      throw err;
    });
    if (live(ex, vault.clock.now())) {
      await lease.release();
      throw new VaultLeaseHeldError(vault.description, 'upload', ex);
    }
    lease.start(o);
    return lease;
  }

  /**
   * Take the exclusive lease for pruning or orphan removal: refused while
   * another live exclusive lease or any live upload lease exists; stale ones
   * are taken over (removed).
   */
  static async exclusive(vault: Vault, kind: 'prune' | 'orphans', o: LeaseOptions = {}, signal?: AbortSignal): Promise<Lease> {
    const owner = o.owner ?? defaultOwner();
    const lease = Lease.make(vault, EXCLUSIVE_LEASE_KEY, kind, owner, o);
    for (let attempt = 0; ; attempt++) {
      try {
        await lease.write(true, signal);
        break;
      } catch (err) {
        if (!isVaultError(err, 'conflict') || attempt >= 2) throw err;
        const cur = await readLease(vault, EXCLUSIVE_LEASE_KEY, signal);
        if (cur?.owner === owner) break; // our own put landed, its acknowledgement was lost
        if (live(cur, vault.clock.now())) throw new VaultLeaseHeldError(vault.description, kind, cur);
        // Stale (or unreadable): take it over — unless another writer did so since we looked (narrows, without CAS cannot close, the race).
        const again = await readLease(vault, EXCLUSIVE_LEASE_KEY, signal);
        if (again && (again.owner !== cur?.owner || again.expiresAt !== cur?.expiresAt)) {
          throw new VaultLeaseHeldError(vault.description, kind, again);
        }
        await withRetry(() => vault.backend.delete(EXCLUSIVE_LEASE_KEY), vault.retry, vault.clock, signal);
      }
    }
    try {
      // Without an exact ifAbsent (some S3 servers) two writers may both "win": the last put stays; the other backs off here.
      const mine = await readLease(vault, EXCLUSIVE_LEASE_KEY, signal);
      if (mine?.owner !== owner) throw new VaultLeaseHeldError(vault.description, kind, mine);
      const now = vault.clock.now();
      for (const o2 of await vault.list(UPLOAD_LEASE_PREFIX, signal)) {
        const r = await readLease(vault, o2.key, signal);
        if (live(r, now)) throw new VaultLeaseHeldError(vault.description, kind, r);
        await withRetry(() => vault.backend.delete(o2.key), vault.retry, vault.clock, signal); // stale upload lease: taken over
      }
    } catch (err) {
      await lease.release();
      throw err;
    }
    lease.start(o);
    return lease;
  }

  private static make(vault: Vault, key: string, kind: LeaseKind, owner: string, o: LeaseOptions): Lease {
    const ttl = o.ttlMs ?? LEASE_TTL_DEFAULT_MS;
    if (!(ttl >= 1000)) throw new RangeError('lease ttlMs must be at least 1000');
    const now = vault.clock.now();
    const rec: LeaseRecord = { kind, owner, acquiredAt: new Date(now).toISOString(), expiresAt: new Date(now + ttl).toISOString() };
    return new Lease(vault, key, rec, ttl, now);
  }

  private async write(ifAbsent: boolean, signal?: AbortSignal): Promise<void> {
    const now = this.vault.clock.now();
    const rec: LeaseRecord = { ...this.record, expiresAt: new Date(now + this.ttlMs).toISOString() };
    await withRetry(() => this.vault.backend.put(this.key, encode(rec), ifAbsent ? { ifAbsent: true } : {}),
      this.vault.retry, this.vault.clock, signal);
    this.renewedAt = now;
  }

  private start(o: LeaseOptions): void {
    if (o.timer === false) return;
    this.timer = setInterval(() => {
      this.renewing ??= this.renew().catch((err: unknown) => { this.failure ??= err; }).finally(() => { this.renewing = undefined; });
    }, Math.max(1000, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    if (this.released) return;
    if (this.key === EXCLUSIVE_LEASE_KEY) {
      const cur = await readLease(this.vault, this.key);
      if (cur?.owner !== this.owner) throw new VaultLeaseLostError(this.vault.description, this.record, cur);
    }
    await this.write(false);
  }

  /**
   * Before each step of the work: throws VaultLeaseLostError if the lease
   * expired unrenewed (another writer may have taken it over) or was taken;
   * renews it when a third of its lifetime has passed.
   */
  async check(signal?: AbortSignal): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.released) throw new VaultLeaseLostError(this.vault.description, this.record, undefined);
    const now = this.vault.clock.now();
    if (now - this.renewedAt >= this.ttlMs) throw new VaultLeaseLostError(this.vault.description, this.record, undefined);
    if (now - this.renewedAt >= this.ttlMs / 3) {
      await this.renewing;
      if (this.vault.clock.now() - this.renewedAt >= this.ttlMs / 3) await this.renew();
    }
    signal?.throwIfAborted();
  }

  /** Remove the lease object (best effort: a lease left behind expires by itself). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.timer) clearInterval(this.timer);
    await this.renewing;
    try {
      if (this.key === EXCLUSIVE_LEASE_KEY) {
        const cur = await readLease(this.vault, this.key);
        if (cur && cur.owner !== this.owner) return; // taken over: not ours to delete
      }
      await withRetry(() => this.vault.backend.delete(this.key), this.vault.retry, this.vault.clock);
    } catch {
      // It expires by itself.
    }
  }
}
