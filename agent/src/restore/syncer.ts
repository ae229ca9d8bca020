/**
 * Background close of restored files, a bounded number at a time, with an
 * fsync first when the restore is made durable file by file (no syncfs, see
 * durable.ts); a failed fsync fails the restore.
 */
import type { FileHandle } from 'node:fs/promises';
import { showPath } from '../util/bytes.js';
import { AgentError } from '../util/errors.js';

export class Syncer {
  private readonly pending = new Set<Promise<void>>();
  private failure: Error | null = null;

  constructor(private readonly max: number, private readonly fsync: boolean) {}

  async add(fh: FileHandle, dest: Buffer): Promise<void> {
    while (this.pending.size >= this.max) await Promise.race(this.pending);
    if (this.failure) throw this.failure;
    const done = this.fsync ? fh.sync().finally(() => fh.close()) : fh.close();
    const p: Promise<void> = done.then(
      () => { this.pending.delete(p); },
      (e: Error) => {
        this.pending.delete(p);
        this.failure ??= new AgentError('TARGET_INVALID', `${showPath(dest)} could not be made durable: ${e.message}`, { cause: e });
      },
    );
    this.pending.add(p);
  }

  /** Waits for every file; throws the first fsync failure. */
  async drain(): Promise<void> {
    await Promise.all(this.pending);
    if (this.failure) throw this.failure;
  }
}
