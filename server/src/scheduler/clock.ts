/**
 * The server's clock. Everything that decides by time (the catalog's
 * timestamps, the scheduler's slots, the queue's backoff and offline waits)
 * reads "now" from one Clock, so tests can run days of schedules in
 * milliseconds. Same shape as the catalog's Clock, so one object serves both.
 */
import type { Clock } from '../catalog/index.js';

export type { Clock } from '../catalog/index.js';
export { systemClock } from '../catalog/index.js';

/**
 * A clock that stands still until it is moved. It never runs timers itself:
 * whoever moves it (a test, or the server's test hook) then calls the
 * scheduler's tick(), which is what real time would have woken.
 */
export class TestClock implements Clock {
  private t: number;

  constructor(start: Date | string = new Date()) {
    this.t = new Date(start).getTime();
    if (!Number.isFinite(this.t)) throw new RangeError(`test clock: '${String(start)}' is not a time`);
  }

  now(): Date {
    return new Date(this.t);
  }

  /** Moves the clock forward; moving it back is refused (schedules assume time goes forward). */
  advance(ms: number): Date {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`test clock: cannot advance by ${ms} ms`);
    this.t += ms;
    return this.now();
  }

  set(at: Date | string): Date {
    const t = new Date(at).getTime();
    if (!Number.isFinite(t)) throw new RangeError(`test clock: '${String(at)}' is not a time`);
    this.t = t;
    return this.now();
  }
}

export const isTestClock = (c: Clock): c is TestClock => c instanceof TestClock;
