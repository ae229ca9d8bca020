/** A counting semaphore for background tasks, with wait-until-idle and first-failure reporting. */
export class Limiter {
  private running = 0;
  private failure: unknown = null;
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

  /** Waits for a free slot, then starts `task` without waiting for it; its failure is thrown by a later spawn() or drain(). */
  async spawn(task: () => Promise<unknown>): Promise<void> {
    if (this.failure) throw this.failure;
    await this.acquire();
    if (this.failure) { this.release(); throw this.failure; }
    task().catch((e) => { this.failure ??= e; }).finally(() => this.release());
  }

  /** Waits until nothing runs; throws the first failure of a spawned task. */
  async drain(): Promise<void> {
    while (this.running > 0) await new Promise<void>((r) => this.idle.push(r));
    if (this.failure) throw this.failure;
  }
}
