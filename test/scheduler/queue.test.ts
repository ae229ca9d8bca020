/**
 * The job queue as a state machine: fake work whose end the test decides, a
 * TestClock, and an agent presence map. Concurrency, no overlap on one data
 * source, round-robin fairness, backoff on transient failures, the bounded
 * offline wait and its message.
 */
import { describe, expect, it } from 'vitest';
import { TestClock } from '../../server/src/scheduler/clock.js';
import { JobQueue, backoffMs, type QueueOptions, type QueueTask, type TaskOutcome, type TaskRunner } from '../../server/src/scheduler/queue.js';

const MIN = 60_000;

class FakeRunner implements TaskRunner {
  started: string[] = [];
  pending = new Map<string, (o: TaskOutcome) => void>();
  abandoned: Array<{ jobId: string; state: string; message: string }> = [];
  requeued: Array<{ from: string; to: string; attempt: number; reason: string }> = [];
  endedCalls: Array<{ jobId: string; ok: boolean; running: boolean }> = [];
  queue!: JobQueue;
  private n = 0;
  private settled = new Map<string, () => void>();

  onSettled(task: QueueTask) {
    this.settled.get(task.jobId)?.();
  }

  run(task: QueueTask) {
    this.started.push(task.jobId);
    return new Promise<TaskOutcome>((res) => this.pending.set(task.jobId, res));
  }
  async requeue(task: QueueTask, attempt: number, reason: string) {
    const to = `${task.jobId.split('#')[0]}#${attempt}.${++this.n}`;
    this.requeued.push({ from: task.jobId, to, attempt, reason });
    return to;
  }
  async abandon(task: QueueTask, state: 'failed' | 'cancelled', message: string) {
    this.abandoned.push({ jobId: task.jobId, state, message });
  }
  async ended(task: QueueTask, o: TaskOutcome) {
    // Retention runs here: the source must still be held by the queue.
    this.endedCalls.push({ jobId: task.jobId, ok: o.ok, running: this.queue.isRunning(task.dataSourceId) });
  }
  /** Ends a running attempt and lets the queue settle. */
  async finish(jobId: string, o: TaskOutcome = { ok: true }) {
    const res = this.pending.get(jobId);
    if (!res) throw new Error(`${jobId} is not running (running: ${[...this.pending.keys()].join(', ')})`);
    this.pending.delete(jobId);
    const settled = new Promise<void>((r) => this.settled.set(jobId, r));
    res(o);
    await settled;
  }
}

function setup(opts: Partial<QueueOptions> = {}, offline: string[] = []) {
  const clock = new TestClock('2026-03-01T10:00:00Z');
  const down = new Set(offline);
  const busy = new Set<string>();
  const runner = new FakeRunner();
  const queue = new JobQueue(runner, { clock, isAgentOnline: (a) => !down.has(a), isSourceBusy: (s) => busy.has(s), onSettled: (t) => runner.onSettled(t) }, opts);
  runner.queue = queue;
  const task = (jobId: string, agentId: string, dataSourceId: string, kind: 'backup' | 'upload' = 'backup'): QueueTask => ({
    jobId, kind, dataSourceId, agentId, agentName: agentId, needsAgent: kind === 'backup', label: `the scheduled ${kind} of '${dataSourceId}'`,
  });
  return { clock, down, busy, runner, queue, task };
}

describe('job queue', () => {
  it('runs at most maxConcurrent tasks server-wide and starts the next when one ends', async () => {
    const { runner, queue, task } = setup({ maxConcurrent: 2 });
    for (let i = 1; i <= 5; i++) queue.add(task(`j${i}`, `a${i}`, `s${i}`));
    await queue.pump();
    expect(runner.started).toEqual(['j1', 'j2']);
    expect(queue.runningCount).toBe(2);
    await runner.finish('j2');
    expect(runner.started).toEqual(['j1', 'j2', 'j3']);
    await runner.finish('j1');
    await runner.finish('j3');
    expect(runner.started).toEqual(['j1', 'j2', 'j3', 'j4', 'j5']);
    expect(queue.runningCount).toBe(2);
  });

  it('never runs two tasks on one data source, nor one while a manual job holds it', async () => {
    const { runner, queue, task, busy } = setup({ maxConcurrent: 4 });
    queue.add(task('first', 'a', 'docs'));
    queue.add(task('second', 'a', 'docs', 'upload'));
    queue.add(task('other', 'a', 'mail'));
    busy.add('mail');
    await queue.pump();
    // Capacity is free, but 'docs' is taken by 'first' and 'mail' by a manual backup.
    expect(runner.started).toEqual(['first']);
    busy.delete('mail');
    await queue.pump();
    expect(runner.started).toEqual(['first', 'other']);
    await runner.finish('first');
    expect(runner.started).toEqual(['first', 'other', 'second']);
    expect(runner.endedCalls[0]).toEqual({ jobId: 'first', ok: true, running: true });
  });

  it('takes agents in turn (round-robin) and each agent FIFO', async () => {
    const { runner, queue, task } = setup({ maxConcurrent: 1 });
    queue.add(task('a1', 'A', 'sa1'));
    queue.add(task('a2', 'A', 'sa2'));
    queue.add(task('a3', 'A', 'sa3'));
    queue.add(task('b1', 'B', 'sb1'));
    queue.add(task('c1', 'C', 'sc1'));
    queue.add(task('b2', 'B', 'sb2'));
    await queue.pump();
    for (let i = 0; i < 5; i++) await runner.finish(runner.started.at(-1)!);
    expect(runner.started).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3']);
  });

  it('retries a transient failure after an exponential backoff, up to maxAttempts', async () => {
    const { runner, queue, task, clock } = setup({ maxAttempts: 3, backoffBaseMs: MIN, backoffMaxMs: 10 * MIN });
    queue.add(task('j', 'A', 'docs'));
    await queue.pump();
    await runner.finish('j', { ok: false, transient: true, message: 'agent disconnected during the backup' });
    expect(runner.requeued).toEqual([{ from: 'j', to: 'j#2.1', attempt: 2, reason: 'agent disconnected during the backup' }]);
    expect(queue.hasWaiting('docs', 'backup')).toBe(true);
    expect(queue.nextWakeAt()).toEqual(new Date(clock.now().getTime() + MIN));

    clock.advance(MIN - 1);
    await queue.pump();
    expect(runner.started).toEqual(['j']);
    clock.advance(1);
    await queue.pump();
    expect(runner.started).toEqual(['j', 'j#2.1']);

    await runner.finish('j#2.1', { ok: false, transient: true, message: 'agent disconnected during the backup' });
    clock.advance(2 * MIN - 1); // the second wait is twice the first
    await queue.pump();
    expect(runner.started).toHaveLength(2);
    clock.advance(1);
    await queue.pump();
    expect(runner.started).toEqual(['j', 'j#2.1', 'j#3.2']);

    // The third attempt was the last.
    await runner.finish('j#3.2', { ok: false, transient: true, message: 'agent disconnected during the backup' });
    expect(runner.requeued).toHaveLength(2);
    expect(queue.list()).toEqual([]);
  });

  it('does not retry a permanent failure', async () => {
    const { runner, queue, task } = setup();
    queue.add(task('j', 'A', 'docs'));
    await queue.pump();
    await runner.finish('j', { ok: false, transient: false, message: 'backup refused: referenced chunk(s) are not in the store' });
    expect(runner.requeued).toEqual([]);
    expect(queue.list()).toEqual([]);
  });

  it('caps the backoff', () => {
    const o = { backoffBaseMs: MIN, backoffMaxMs: 15 * MIN };
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffMs(a, o) / MIN)).toEqual([1, 2, 4, 8, 15, 15]);
  });

  it('a refusal before the start keeps the same queued row and spends no attempt', async () => {
    const { runner, queue, task, clock } = setup({ maxAttempts: 1, backoffBaseMs: MIN });
    queue.add(task('j', 'A', 'docs'));
    await queue.pump();
    await runner.finish('j', { ok: false, transient: true, message: "agent 'A' is offline", notStarted: true });
    expect(runner.requeued).toEqual([]);
    expect(queue.list()).toMatchObject([{ jobId: 'j', attempt: 1, state: 'waiting' }]);
    clock.advance(MIN);
    await queue.pump();
    expect(runner.started).toEqual(['j', 'j']);
  });

  it('waits a bounded time for an offline agent, then fails with a clear reason', async () => {
    const { runner, queue, task, clock } = setup({ offlineWaitMs: 10 * MIN }, ['web01']);
    queue.add(task('docs-job', 'web01', 'docs'));
    queue.add(task('upload-job', 'web01', 'mail', 'upload'));
    await queue.pump();
    // Server-side work does not wait for the agent.
    expect(runner.started).toEqual(['upload-job']);
    expect(queue.nextWakeAt()).toEqual(new Date(clock.now().getTime() + 10 * MIN));
    clock.advance(10 * MIN - 1000);
    await queue.pump();
    expect(runner.abandoned).toEqual([]);
    clock.advance(1000);
    await queue.pump();
    expect(runner.abandoned).toEqual([
      { jobId: 'docs-job', state: 'failed', message: "agent 'web01' has been offline for 10m; the scheduled backup of 'docs' did not run" },
    ]);
    expect(queue.hasWaiting('docs', 'backup')).toBe(false);
    expect(runner.started).toEqual(['upload-job']);
  });

  it('starts the task as soon as the agent is back within the wait', async () => {
    const { runner, queue, task, clock, down } = setup({ offlineWaitMs: 10 * MIN }, ['web01']);
    queue.add(task('j', 'web01', 'docs'));
    await queue.pump();
    clock.advance(5 * MIN);
    down.delete('web01');
    await queue.pump();
    expect(runner.started).toEqual(['j']);
    clock.advance(20 * MIN);
    await queue.pump();
    expect(runner.abandoned).toEqual([]);
  });

  it('close() cancels waiting tasks and starts nothing more', async () => {
    const { runner, queue, task } = setup({ maxConcurrent: 1 });
    queue.add(task('run', 'A', 's1'));
    queue.add(task('wait', 'B', 's2'));
    await queue.pump();
    await queue.close();
    expect(runner.abandoned).toEqual([{ jobId: 'wait', state: 'cancelled', message: 'the server stopped before it ran' }]);
    await runner.finish('run');
    expect(runner.started).toEqual(['run']);
    expect(() => queue.add(task('late', 'A', 's3'))).toThrow(/closed/);
  });

  it('an admin can cancel a waiting task', async () => {
    const { runner, queue, task } = setup({ maxConcurrent: 1 });
    queue.add(task('run', 'A', 's1'));
    queue.add(task('wait', 'A', 's2'));
    await queue.pump();
    expect(await queue.cancelWaiting('run', 'x')).toBe(false);
    expect(await queue.cancelWaiting('wait', 'cancelled by the admin')).toBe(true);
    await runner.finish('run');
    expect(runner.started).toEqual(['run']);
    expect(runner.abandoned).toEqual([{ jobId: 'wait', state: 'cancelled', message: 'cancelled by the admin' }]);
  });
});
