/**
 * A FIFO queue that runs async tasks one at a time. The embedded SQLite engine
 * has one connection: two transactions interleaved on it corrupt each other
 * (a rollback of one undoes the other's writes), and a plain statement issued
 * while a transaction is open silently joins it. So on SQLite every catalog
 * call goes through one SerialQueue.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs task once every task queued before it has settled; a failure does not stop the queue. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
