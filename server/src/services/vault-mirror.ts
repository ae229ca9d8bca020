/**
 * Redundancy (ZRS / GRS): a VaultBackend wrapper over a primary and a
 * secondary target, with the same interface (DESIGN.md: mirroring is a
 * wrapper). Contracts on top of VaultBackend's:
 *
 * - `put` and `delete` go to BOTH targets and resolve only when both did:
 *   every pack, index, refs and manifest the uploader writes is on both, so
 *   a point exists in the mirrored vault only once its manifest is on both.
 *   (An `ifAbsent` put that conflicts on either target is 'conflict'.)
 * - `put` writes the secondary FIRST: whatever the primary holds, the
 *   secondary holds too. The uploader learns what the vault holds by listing
 *   `index/` (on the primary), so an interrupted upload never counts a pack
 *   as held that the secondary lacks; at worst the secondary keeps an
 *   orphan, which nothing reads.
 * - `checkBoth()` probes both targets; the vault service runs it before an
 *   upload, so an upload never starts (and never syncs from one target
 *   alone) while either is unreachable.
 * - `head` is non-null only when both targets hold the object, so the
 *   uploader's "already uploaded?" check never skips a target.
 * - `get` and `list` read the primary and fall back to the secondary when the
 *   primary is unreachable, refuses the credentials, fails with an I/O error
 *   or lacks the object. After an 'unreachable' the primary is skipped for
 *   `primaryBackoffMs` (default 60 s), so a restore from a dead region does
 *   not wait for the primary's timeouts on every chunk.
 */
import type { ByteRange, PutOptions, VaultBackend, VaultObjectInfo } from '../vault/backends/index.js';
import { isVaultError } from '../vault/backends/index.js';

export interface MirrorOptions {
  primaryBackoffMs?: number;
  /** Called when a read was served by the secondary (for logs and tests). */
  onFallback?: (op: string, key: string, err: unknown) => void;
  now?: () => number;
}

const FALLBACK_KINDS = ['unreachable', 'not-found', 'auth', 'io'] as const;

export function worthFallback(err: unknown): boolean {
  return FALLBACK_KINDS.some((k) => isVaultError(err, k));
}

export class MirroredBackend implements VaultBackend {
  private primaryDownUntil = 0;
  private readonly backoffMs: number;
  private readonly now: () => number;

  constructor(readonly primary: VaultBackend, readonly secondary: VaultBackend, private readonly o: MirrorOptions = {}) {
    this.backoffMs = o.primaryBackoffMs ?? 60_000;
    this.now = o.now ?? Date.now;
  }

  get description(): string {
    return `${this.primary.description} + ${this.secondary.description}`;
  }

  async put(key: string, data: Buffer | Uint8Array, opts?: PutOptions): Promise<void> {
    // Sequential, secondary first (see the contracts above).
    await this.secondary.put(key, data, opts);
    await this.primary.put(key, data, opts);
  }

  async delete(key: string): Promise<void> {
    await Promise.all([this.primary.delete(key), this.secondary.delete(key)]);
  }

  async head(key: string): Promise<{ size: number } | null> {
    const [a, b] = await Promise.all([this.primary.head(key), this.secondary.head(key)]);
    return a && b ? a : null;
  }

  get(key: string, range?: ByteRange): Promise<Buffer> {
    return this.read('get', key, (b) => b.get(key, range));
  }

  async *list(prefix: string): AsyncIterable<VaultObjectInfo> {
    if (!this.primaryDown()) {
      let yielded = false;
      try {
        for await (const o of this.primary.list(prefix)) {
          yielded = true;
          yield o;
        }
        return;
      } catch (err) {
        if (yielded || !worthFallback(err)) throw err;
        this.noteFailure('list', prefix, err);
      }
    }
    yield* this.secondary.list(prefix);
  }

  /** Both targets answer (a HEAD of `key` on each); throws the first failure. */
  async checkBoth(key = 'config'): Promise<void> {
    await Promise.all([this.primary.head(key), this.secondary.head(key)]);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.primary.close?.(), this.secondary.close?.()]);
  }

  /** True while reads skip the primary after it was unreachable. */
  primaryDown(): boolean {
    return this.now() < this.primaryDownUntil;
  }

  private async read<T>(op: string, key: string, fn: (b: VaultBackend) => Promise<T>): Promise<T> {
    if (!this.primaryDown()) {
      try {
        return await fn(this.primary);
      } catch (err) {
        if (!worthFallback(err)) throw err;
        this.noteFailure(op, key, err);
      }
    }
    return fn(this.secondary);
  }

  private noteFailure(op: string, key: string, err: unknown): void {
    if (isVaultError(err, 'unreachable')) this.primaryDownUntil = this.now() + this.backoffMs;
    this.o.onFallback?.(op, key, err);
  }
}
