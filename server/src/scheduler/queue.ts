/**
 * The job queue: scheduled work waits here (as a catalog row in state
 * 'queued') until it may run. Rules, in the order pump() applies them:
 *
 * - at most `maxConcurrent` tasks run at once, server-wide;
 * - never two tasks on one data source (nor one while JobService runs a manual
 *   job on it): the queue does not even try;
 * - fair: agents take turns (round-robin), each agent's tasks run FIFO;
 * - a transient failure (agent offline or disconnected mid-job, server busy)
 *   is retried after an exponential backoff, up to `maxAttempts` in all;
 * - a task whose agent is offline waits at most `offlineWaitMs`, then fails
 *   with a reason that names the agent, the time and the work.
 *
 * The queue decides and counts; a TaskRunner does the work and the catalog
 * rows. Time comes only from the clock, so tests drive it with a TestClock.
 */
import type { Clock } from './clock.js';
import { formatWait } from './format.js';

export type TaskKind = 'backup' | 'upload';

export interface QueueTask {
  /** The catalog job id of the current attempt (a 'queued' row until it starts). */
  jobId: string;
  kind: TaskKind;
  dataSourceId: string;
  agentId: string;
  agentName: string;
  /** Agent-side work waits for its agent; server-side work (upload) does not. */
  needsAgent: boolean;
  /** The work as the admin reads it in a failure: "the scheduled backup of 'docs'". */
  label: string;
}

export type TaskOutcome =
  | { ok: true }
  /** notStarted: refused before it began (the row is still queued): try again later, no attempt spent. */
  | { ok: false; transient: boolean; message: string; notStarted?: boolean };

export interface TaskRunner {
  /** Runs one attempt and resolves when it has ended. A throw counts as a permanent failure. */
  run(task: QueueTask): Promise<TaskOutcome>;
  /** Records the next attempt (a fresh queued row) and returns its job id. */
  requeue(task: QueueTask, attempt: number, reason: string): Promise<string>;
  /** Ends a task that will not run; its queued row ends in `state` with `message`. */
  abandon(task: QueueTask, state: 'failed' | 'cancelled', message: string): Promise<void>;
  /** Called after every attempt, while the task still holds its data source (retention runs here). */
  ended?(task: QueueTask, outcome: TaskOutcome): Promise<void>;
}

export interface QueueOptions {
  maxConcurrent: number;
  offlineWaitMs: number;
  /** Attempts in all, the first included. */
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export const DEFAULT_QUEUE_OPTIONS: QueueOptions = {
  maxConcurrent: 4,
  offlineWaitMs: 10 * 60_000,
  maxAttempts: 4,
  backoffBaseMs: 60_000,
  backoffMaxMs: 15 * 60_000,
};

export interface QueueDeps {
  clock: Clock;
  isAgentOnline(agentId: string): boolean;
  /** A job the queue did not start (a manual backup) holds the source. */
  isSourceBusy?(dataSourceId: string): boolean;
  onError?(err: unknown, task: QueueTask): void;
  /** After an attempt is settled (retry queued or task gone) and the queue pumped again. */
  onSettled?(task: QueueTask, outcome: TaskOutcome): void;
}

interface Entry {
  task: QueueTask;
  attempt: number;
  state: 'waiting' | 'running';
  /** Earliest start (backoff), ms. */
  notBefore: number;
  /** Since when this entry has found its agent offline, ms; null while online. */
  offlineSince: number | null;
}

/** Delay before attempt n+1 after attempt n failed: base, 2×base, 4×base … capped. */
export function backoffMs(attempt: number, o: Pick<QueueOptions, 'backoffBaseMs' | 'backoffMaxMs'>): number {
  return Math.min(o.backoffBaseMs * 2 ** Math.max(0, attempt - 1), o.backoffMaxMs);
}

export class JobQueue {
  readonly options: QueueOptions;
  /** FIFO, in arrival order (a retry goes to the back). */
  private entries: Entry[] = [];
  /** Agents in round-robin order; the one served last moves behind the others. */
  private turn: string[] = [];
  private inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(private runner: TaskRunner, private deps: QueueDeps, options: Partial<QueueOptions> = {}) {
    this.options = { ...DEFAULT_QUEUE_OPTIONS, ...options };
    if (!(this.options.maxConcurrent >= 1)) throw new RangeError(`max concurrent jobs must be at least 1 (got ${this.options.maxConcurrent})`);
  }

  /** Adds a task (its queued row exists already); call pump() to start what may start. */
  add(task: QueueTask): void {
    if (this.closed) throw new Error('the job queue is closed');
    this.entries.push({ task, attempt: 1, state: 'waiting', notBefore: 0, offlineSince: null });
    if (!this.turn.includes(task.agentId)) this.turn.push(task.agentId);
  }

  /** True while a task of this kind for this source waits (not yet running): the scheduler adds no second one. */
  hasWaiting(dataSourceId: string, kind: TaskKind): boolean {
    return this.entries.some((e) => e.state === 'waiting' && e.task.dataSourceId === dataSourceId && e.task.kind === kind);
  }

  /** True while the queue runs something on this source. */
  isRunning(dataSourceId: string): boolean {
    return this.entries.some((e) => e.state === 'running' && e.task.dataSourceId === dataSourceId);
  }

  get runningCount(): number {
    return this.entries.filter((e) => e.state === 'running').length;
  }

  /** Tasks, in queue order: for tests and diagnostics. */
  list(): Array<QueueTask & { attempt: number; state: 'waiting' | 'running'; notBefore: Date | null }> {
    return this.entries.map((e) => ({ ...e.task, attempt: e.attempt, state: e.state, notBefore: e.notBefore ? new Date(e.notBefore) : null }));
  }

  /**
   * Fails tasks whose agent stayed offline too long, then starts what may
   * start. Decisions are synchronous; resolves once the failures are recorded.
   */
  async pump(): Promise<void> {
    if (this.closed) return;
    const now = this.deps.clock.now().getTime();
    const gaveUp = this.expireOffline(now);
    for (;;) {
      if (this.runningCount >= this.options.maxConcurrent) break;
      const next = this.pick(now);
      if (!next) break;
      this.start(next);
    }
    await Promise.all(gaveUp);
  }

  /** When something may change without an event: a backoff ends or an offline wait runs out. */
  nextWakeAt(): Date | null {
    let at = Infinity;
    const now = this.deps.clock.now().getTime();
    for (const e of this.entries) {
      if (e.state !== 'waiting') continue;
      if (e.notBefore > now) at = Math.min(at, e.notBefore);
      else if (e.offlineSince !== null) at = Math.min(at, e.offlineSince + this.options.offlineWaitMs);
    }
    return Number.isFinite(at) ? new Date(at) : null;
  }

  /** Resolves when nothing is running or being recorded (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  /** Stops starting work; waiting tasks end as cancelled. Running ones are JobService's to cancel. */
  async close(reason = 'the server stopped before it ran'): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const waiting = this.entries.filter((e) => e.state === 'waiting');
    this.entries = this.entries.filter((e) => e.state === 'running');
    await Promise.all(waiting.map((e) => this.runner.abandon(e.task, 'cancelled', reason).catch((err) => this.deps.onError?.(err, e.task))));
  }

  /**
   * Removes a waiting task (an admin cancelled its queued row). False when it
   * is not waiting here (unknown, or already running).
   */
  async cancelWaiting(jobId: string, reason: string): Promise<boolean> {
    const e = this.entries.find((x) => x.state === 'waiting' && x.task.jobId === jobId);
    if (!e) return false;
    this.remove(e);
    await this.runner.abandon(e.task, 'cancelled', reason);
    return true;
  }

  private expireOffline(now: number): Promise<void>[] {
    const out: Promise<void>[] = [];
    for (const e of [...this.entries]) {
      if (e.state !== 'waiting' || !e.task.needsAgent || e.notBefore > now) continue;
      if (this.deps.isAgentOnline(e.task.agentId)) {
        e.offlineSince = null;
        continue;
      }
      e.offlineSince ??= now;
      if (now - e.offlineSince < this.options.offlineWaitMs) continue;
      this.remove(e);
      const msg = `agent '${e.task.agentName}' has been offline for ${formatWait(now - e.offlineSince)}; ${e.task.label} did not run`;
      out.push(this.track(this.runner.abandon(e.task, 'failed', msg).catch((err) => this.deps.onError?.(err, e.task))));
    }
    return out;
  }

  private eligible(e: Entry, now: number): boolean {
    if (e.state !== 'waiting' || e.notBefore > now) return false;
    if (e.task.needsAgent && !this.deps.isAgentOnline(e.task.agentId)) return false;
    if (this.isRunning(e.task.dataSourceId)) return false;
    return !this.deps.isSourceBusy?.(e.task.dataSourceId);
  }

  /** The first eligible task of the first agent in turn order that has one. */
  private pick(now: number): Entry | undefined {
    for (const agentId of this.turn) {
      const e = this.entries.find((x) => x.task.agentId === agentId && this.eligible(x, now));
      if (e) {
        // Served: this agent goes behind every other agent.
        this.turn = [...this.turn.filter((a) => a !== agentId), agentId];
        return e;
      }
    }
    return undefined;
  }

  private start(e: Entry) {
    e.state = 'running';
    e.offlineSince = null;
    const attempt = (async () => {
      let outcome: TaskOutcome;
      try {
        outcome = await this.runner.run(e.task);
      } catch (err) {
        outcome = { ok: false, transient: false, message: (err as Error).message };
        this.deps.onError?.(err, e.task);
      }
      await this.settle(e, outcome);
      // pump() decides synchronously, so what may start has started when onSettled runs.
      const pumped = this.pump();
      this.deps.onSettled?.(e.task, outcome);
      await pumped;
    })();
    void this.track(attempt);
  }

  private async settle(e: Entry, outcome: TaskOutcome) {
    if (!outcome.ok && outcome.notStarted) {
      // Refused before it began (e.g. the agent dropped between the check and the start):
      // the row is still queued; wait one backoff step without spending an attempt.
      e.state = 'waiting';
      e.notBefore = this.deps.clock.now().getTime() + this.options.backoffBaseMs;
      return;
    }
    try {
      await this.runner.ended?.(e.task, outcome);
    } catch (err) {
      this.deps.onError?.(err, e.task);
    }
    const retry = !outcome.ok && outcome.transient && e.attempt < this.options.maxAttempts && !this.closed;
    let jobId: string | null = null;
    if (retry) {
      // The next attempt's row is made while this one still holds the source, so no
      // scheduled task slips in between.
      try {
        jobId = await this.runner.requeue(e.task, e.attempt + 1, outcome.message);
      } catch (err) {
        this.deps.onError?.(err, e.task);
      }
    }
    this.remove(e);
    if (jobId === null) return;
    const notBefore = this.deps.clock.now().getTime() + backoffMs(e.attempt, this.options);
    this.entries.push({ task: { ...e.task, jobId }, attempt: e.attempt + 1, state: 'waiting', notBefore, offlineSince: null });
    if (!this.turn.includes(e.task.agentId)) this.turn.push(e.task.agentId);
  }

  private remove(e: Entry) {
    this.entries = this.entries.filter((x) => x !== e);
    if (!this.entries.some((x) => x.task.agentId === e.task.agentId)) this.turn = this.turn.filter((a) => a !== e.task.agentId);
  }

  private track(p: Promise<void>): Promise<void> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p;
  }
}
