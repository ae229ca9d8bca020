/** A FIFO mutex: run() calls execute one at a time in call order. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  private held = 0;

  get locked(): boolean {
    return this.held > 0;
  }

  run<T>(fn: () => Promise<T> | T): Promise<T> {
    this.held++;
    const result = this.tail.then(fn);
    const done = (): void => { this.held--; };
    this.tail = result.then(done, done);
    return result;
  }
}

/** Acquire `m` and return its release function (for locks held across several calls). */
export function acquire(m: Mutex): Promise<() => void> {
  return new Promise((resolveAcquired) => {
    m.run(() => new Promise<void>((release) => resolveAcquired(() => release()))).catch(() => undefined);
  });
}
