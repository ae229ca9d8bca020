/**
 * An authenticated agent's session: routes job frames to the job that owns
 * them. A job frame for a job this agent is not running is out of order and
 * closes the connection.
 */
import { ErrorCode, ProtocolError, type Frame } from '@strata/protocol';
import type { Agent } from '../catalog/types.js';
import type { AgentConnection } from './connection.js';

/** The server side of one running job on one agent. */
export interface JobChannel {
  onFrame(frame: Frame): Promise<void> | void;
  /** The connection dropped while the job ran. */
  onDisconnect(): void;
}

export class AgentSession {
  private jobs = new Map<string, JobChannel>();
  /** Jobs that ended on this side: frames the agent sent before it heard are dropped, not an error. */
  private ended = new Set<string>();

  constructor(readonly agent: Agent, readonly conn: AgentConnection, readonly version: number) {}

  get id() { return this.agent.id; }
  get isOpen() { return this.conn.isOpen; }

  attach(jobId: string, channel: JobChannel) { this.jobs.set(jobId, channel); }
  detach(jobId: string) {
    if (!this.jobs.delete(jobId)) return;
    this.ended.add(jobId);
    if (this.ended.size > 256) this.ended.delete(this.ended.values().next().value!);
  }
  send(frame: Frame) { return this.conn.send(frame); }

  async dispatch(frame: Frame) {
    switch (frame.kind) {
      case 'ping':
        await this.send({ kind: 'pong', body: { timeMs: frame.body.timeMs } });
        return;
      case 'pong':
        return;
      case 'error':
        this.conn.log.warn({ code: frame.body.code, reason: frame.body.message }, 'agent reported an error');
        if (frame.body.jobId) this.jobs.get(frame.body.jobId)?.onFrame(frame);
        return;
      case 'hello':
      case 'enroll':
        throw new ProtocolError(ErrorCode.OutOfOrder, `unexpected frame: '${frame.kind}' after the session is established`);
      default: {
        const jobId = (frame.body as { jobId?: string }).jobId ?? '';
        const job = this.jobs.get(jobId);
        if (!job && this.ended.has(jobId)) return;
        if (!job) throw new ProtocolError(ErrorCode.OutOfOrder, `unexpected frame: '${frame.kind}' for job '${jobId}', which is not running on this agent`);
        await job.onFrame(frame);
      }
    }
  }

  closed() {
    for (const job of this.jobs.values()) job.onDisconnect();
    this.jobs.clear();
  }
}
