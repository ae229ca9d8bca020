/**
 * What every agent-side job run shares: a result promise settled exactly once,
 * cancellation (tell the agent, fail the job), failing with the agent told,
 * and leaving the session's routing when it ends.
 */
import type { Frame } from '@strata/protocol';
import type { AgentSession, JobChannel } from '../gateway/session.js';

export abstract class JobRun<T> implements JobChannel {
  readonly result: Promise<T>;
  protected finished = false;
  private resolve!: (v: T) => void;
  private reject!: (e: Error) => void;

  constructor(protected readonly session: AgentSession, protected readonly jobId: string, private readonly what: string) {
    this.result = new Promise<T>((res, rej) => { this.resolve = res; this.reject = rej; });
    this.result.catch(() => {});
  }

  abstract onFrame(frame: Frame): Promise<void> | void;

  onDisconnect() { this.fail(new Error(`agent disconnected during the ${this.what}`)); }

  cancel(reason: string) {
    if (this.finished) return;
    void this.session.send({ kind: 'cancelJob', body: { jobId: this.jobId } }).catch(() => {});
    this.fail(new Error(reason));
  }

  /** Fails the job and tells the agent why, so it stops too. */
  protected failAndTell(err: Error) {
    if (this.finished) return;
    void this.session.send({ kind: 'jobFailed', body: { jobId: this.jobId, message: err.message.slice(0, 4000) } }).catch(() => {});
    this.fail(err);
  }

  protected succeed(v: T) {
    if (this.end()) this.resolve(v);
  }

  protected fail(err: Error) {
    if (this.end()) this.reject(err);
  }

  /** Releases what the run holds (ref lists…); called once when it ends. */
  protected cleanup(): void {}

  private end(): boolean {
    if (this.finished) return false;
    this.finished = true;
    this.cleanup();
    this.session.detach(this.jobId);
    return true;
  }
}
