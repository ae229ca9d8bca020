/** State shared by one backup run's walker, file reader and progress reporting. */
import { showPath } from '../util/bytes.js';
import type { Warnings } from '../util/warnings.js';
import type { ChunkUploader } from './uploader.js';
import type { TreeCache } from './cache.js';
import type { BackupCounters, BackupTuning } from './types.js';

export interface RunContext {
  tuning: Omit<BackupTuning, 'compressor'>;
  /** Files whose ctime is this recent when read are stored with ctime 0, so the next backup reads them again. */
  racyWindowMs: number;
  uploader: ChunkUploader;
  cache: TreeCache;
  warnings: Warnings;
  signal: AbortSignal | undefined;
  /** Files being read at once. */
  fileSlots: Limiter;
  /** First name (point path) of each multiply-linked file seen, by "dev:ino". */
  links: Map<string, Buffer>;
  counters: BackupCounters;
  onProgress: ((c: BackupCounters) => void) | undefined;
  files: number;
  dirs: number;
  bytes: number;
}

/** A counting semaphore with a wait-until-idle. */
export class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly idle: (() => void)[] = [];

  constructor(private readonly max: number) {}

  async acquire(): Promise<void> {
    while (this.running >= this.max) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
  }

  release(): void {
    this.running--;
    this.waiting.shift()?.();
    if (this.running === 0) for (const r of this.idle.splice(0)) r();
  }

  async drain(): Promise<void> {
    while (this.running > 0) await new Promise<void>((r) => this.idle.push(r));
  }
}

export function report(ctx: RunContext, path?: Buffer): void {
  if (path) ctx.counters.currentPath = showPath(path);
  if (!ctx.onProgress) return;
  ctx.counters.bytesSent = ctx.uploader.bytesSent;
  ctx.onProgress({ ...ctx.counters });
}
