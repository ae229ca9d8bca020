/**
 * Sends sealed packs with at most `concurrency` in flight, each in the order
 * the format demands (docs/vault-format.md §8.4): pack PUT, then its index
 * PUT, then the known-chunks append. The first failure stops new sends;
 * `drain()` waits for those in flight and reports it.
 */
import { ObjectType } from './format.js';
import type { KnownChunks } from './known-chunks.js';
import { type BuiltPack, indexKey } from './pack-format.js';
import type { Vault } from './vault.js';

export type PutFn = (key: string, data: Buffer) => Promise<void>;

export class PackSender {
  private readonly inFlight = new Set<Promise<void>>();
  /** The first error of any send; once set, nothing more is sent. */
  failure: unknown;

  constructor(
    private readonly vault: Vault,
    private readonly known: KnownChunks,
    private readonly put: PutFn,
    private readonly concurrency: number,
    private readonly onSent: (b: BuiltPack) => void,
  ) {}

  /** Waits for a free slot, then starts sending `b` (does not wait for it). */
  async send(b: BuiltPack): Promise<void> {
    while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
    if (this.failure) return;
    const p: Promise<void> = this.sendOne(b)
      .catch((err: unknown) => { this.failure ??= err; })
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /** Wait for every send in flight; throws the first failure. */
  async drain(): Promise<void> {
    await Promise.all(this.inFlight);
    if (this.failure) throw this.failure;
  }

  /** Wait for every send in flight, ignoring failures (cleanup on another error). */
  async settle(): Promise<void> {
    await Promise.all(this.inFlight);
  }

  private async sendOne(b: BuiltPack): Promise<void> {
    await this.known.markDirty();
    await this.put(b.key, b.data);
    const ik = indexKey(b.packId);
    await this.put(ik, this.vault.seal(ObjectType.Index, ik, b.indexPayload));
    await this.known.addPack(b.indexPayload);
    this.onSent(b);
  }
}
