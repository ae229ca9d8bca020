/**
 * An in-memory vault backend: a fake for unit tests of the uploader, pruning
 * and restore (milliseconds, no emulator). It keeps every contract of
 * VaultBackend and passes the same conformance suite. Not for production:
 * nothing survives the process.
 */
import {
  checkKey, checkPrefix, checkRange, rangePastEnd, VaultError,
  type ByteRange, type PutOptions, type VaultBackend, type VaultObjectInfo,
} from './backend.js';

export class MemoryBackend implements VaultBackend {
  readonly description: string;
  private readonly objects = new Map<string, Buffer>();
  /** While true every operation fails with 'unreachable' (a fake outage). */
  offline = false;

  constructor(name = 'vault') {
    this.description = `memory://${name}`;
  }

  /** Number of objects held (for tests). */
  get size(): number {
    return this.objects.size;
  }

  async put(key: string, data: Buffer | Uint8Array, opts: PutOptions = {}): Promise<void> {
    this.enter(key);
    if (opts.ifAbsent && this.objects.has(key)) {
      throw new VaultError('conflict', `${key} already exists in ${this.description}`, { backend: this.description, key });
    }
    this.objects.set(key, Buffer.from(data)); // a copy: the caller may reuse its buffer
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    this.enter(key);
    const r = checkRange(range, key, this.description);
    const obj = this.objects.get(key);
    if (!obj) throw new VaultError('not-found', `${key} not found in ${this.description}`, { backend: this.description, key });
    if (!r) return Buffer.from(obj);
    if (r.offset + r.length > obj.length) throw rangePastEnd(r, obj.length, key, this.description);
    return Buffer.from(obj.subarray(r.offset, r.offset + r.length));
  }

  async head(key: string): Promise<{ size: number } | null> {
    this.enter(key);
    const obj = this.objects.get(key);
    return obj ? { size: obj.length } : null;
  }

  async *list(prefix: string): AsyncIterable<VaultObjectInfo> {
    checkPrefix(prefix, this.description);
    this.online('listing');
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix))
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const key of keys) {
      const obj = this.objects.get(key);
      if (obj) yield { key, size: obj.length };
    }
  }

  async delete(key: string): Promise<void> {
    this.enter(key);
    this.objects.delete(key);
  }

  async close(): Promise<void> {}

  private enter(key: string): void {
    checkKey(key, this.description);
    this.online(key);
  }

  private online(what: string): void {
    if (this.offline) {
      throw new VaultError('unreachable', `cannot reach ${this.description} (offline) for ${what}`, { backend: this.description });
    }
  }
}
