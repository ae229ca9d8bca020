/**
 * A fault-injecting wrapper for tests of resume and retry: it implements
 * VaultBackend over any other backend and fails chosen operations with a
 * chosen VaultError kind, either before the operation reaches the target
 * ('before': nothing happened) or after it completed ('after': the object was
 * written or deleted but the caller sees an error — a lost acknowledgement,
 * the case a resumable upload must survive). It also counts calls.
 */
import {
  VaultError, type ByteRange, type PutOptions, type VaultBackend, type VaultErrorKind, type VaultObjectInfo,
} from './backend.js';

export type VaultOp = 'put' | 'get' | 'head' | 'list' | 'delete';

export interface Fault {
  /** Operations this fault applies to (default: all). */
  ops?: VaultOp[];
  /** Keys (or list prefixes) it applies to: exact string, or a pattern (default: all). */
  key?: string | RegExp;
  /** Kind of the injected error (default 'unreachable'). */
  kind?: VaultErrorKind;
  /** 'before' (default) or 'after' the real operation. */
  when?: 'before' | 'after';
  /** Matching calls to let through before failing (default 0). */
  skip?: number;
  /** How many matching calls fail, after the skipped ones (default: every one). */
  times?: number;
}

interface ArmedFault extends Fault {
  seen: number;
  failed: number;
}

export class FaultyBackend implements VaultBackend {
  readonly description: string;
  /** Every call, in order (for assertions such as "each pack was put once"). */
  readonly calls: Array<{ op: VaultOp; key: string }> = [];
  private faults: ArmedFault[] = [];

  constructor(readonly inner: VaultBackend) {
    this.description = inner.description;
  }

  /** Add a fault; returns a function that removes it. */
  inject(fault: Fault): () => void {
    const armed: ArmedFault = { ...fault, seen: 0, failed: 0 };
    this.faults.push(armed);
    return () => {
      this.faults = this.faults.filter((f) => f !== armed);
    };
  }

  /** Remove every fault. */
  heal(): void {
    this.faults = [];
  }

  count(op: VaultOp, key?: string): number {
    return this.calls.filter((c) => c.op === op && (key === undefined || c.key === key)).length;
  }

  async put(key: string, data: Buffer | Uint8Array, opts?: PutOptions): Promise<void> {
    const f = this.enter('put', key);
    await this.inner.put(key, data, opts);
    this.after(f, 'put', key);
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    const f = this.enter('get', key);
    const out = await this.inner.get(key, range);
    this.after(f, 'get', key);
    return out;
  }

  async head(key: string): Promise<{ size: number } | null> {
    const f = this.enter('head', key);
    const out = await this.inner.head(key);
    this.after(f, 'head', key);
    return out;
  }

  async *list(prefix: string): AsyncIterable<VaultObjectInfo> {
    const f = this.enter('list', prefix);
    yield* this.inner.list(prefix);
    this.after(f, 'list', prefix);
  }

  async delete(key: string): Promise<void> {
    const f = this.enter('delete', key);
    await this.inner.delete(key);
    this.after(f, 'delete', key);
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  /** Records the call; throws a 'before' fault, or returns an 'after' fault to throw later. */
  private enter(op: VaultOp, key: string): ArmedFault | undefined {
    this.calls.push({ op, key });
    const f = this.faults.find((x) => this.matches(x, op, key));
    if (!f) return undefined;
    f.seen++;
    if (f.seen <= (f.skip ?? 0) || (f.times !== undefined && f.failed >= f.times)) return undefined;
    f.failed++;
    if ((f.when ?? 'before') === 'before') throw this.error(f, op, key);
    return f;
  }

  private after(f: ArmedFault | undefined, op: VaultOp, key: string): void {
    if (f) throw this.error(f, op, key);
  }

  private matches(f: Fault, op: VaultOp, key: string): boolean {
    if (f.ops && !f.ops.includes(op)) return false;
    if (f.key === undefined) return true;
    return typeof f.key === 'string' ? f.key === key : f.key.test(key);
  }

  private error(f: Fault, op: VaultOp, key: string): VaultError {
    const kind = f.kind ?? 'unreachable';
    return new VaultError(kind, `injected ${kind} fault (${f.when ?? 'before'} ${op} of ${key}) in ${this.description}`,
      { backend: this.description, key });
  }
}
