/**
 * A FIFO queue that runs async tasks one at a time. The embedded SQLite engine
 * has one connection: two transactions interleaved on it corrupt each other
 * (a rollback of one undoes the other's writes), and a plain statement issued
 * while a transaction is open silently joins it. So on SQLite every catalog
 * call goes through one SerialQueue.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  /** Runs task after every task queued before it has settled. */
  run<T>(task: () => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.tail.then(task);
    this.tail = result.then(
      () => this.pending--,
      () => this.pending--,
    );
    return result;
  }

  /** Tasks queued or running. */
  get size(): number {
    return this.pending;
  }

  /** Resolves once every task queued so far has settled. */
  async drain(): Promise<void> {
    await this.tail;
  }
}
