/** Jobs on both engines: lifecycle, progress, warnings, filters. */
import { expect, it } from 'vitest';
import { MAX_JOB_WARNINGS, MAX_WARNING_LENGTH } from '../../server/src/catalog/index.js';
import { describeEngines, fakeClock } from './harness.js';

const MISSING = '00000000-0000-4000-8000-000000000000';
const BIG = 2 ** 41 + 7;

describeEngines('catalog jobs', (h) => {
  it('a job goes queued -> running -> succeeded with progress and result', async () => {
    const clock = fakeClock();
    const c = await h.open({ clock });
    const agentId = crypto.randomUUID();
    const job = await c.createJob({ type: 'backup', agentId, params: { dataSourceId: 'x', nested: { n: [1, 2] } } });
    expect(job).toMatchObject({
      type: 'backup',
      state: 'queued',
      agentId,
      dataSourceId: null,
      createdAt: clock.now(),
      startedAt: null,
      finishedAt: null,
      bytesScanned: 0,
      bytesTotal: null,
      warnings: [],
      warningCount: 0,
      result: null,
      errorMessage: null,
    });
    expect(await c.getJob(job.id)).toEqual(job);

    clock.advance(1000);
    expect(await c.startJob(job.id)).toBe(true);
    expect(await c.startJob(job.id)).toBe(false);
    expect(await c.findRunningJobs()).toMatchObject([{ id: job.id, state: 'running', startedAt: clock.now() }]);

    expect(await c.updateJobProgress(job.id, { bytesScanned: BIG, filesScanned: 10, bytesTotal: BIG * 2 })).toBe(true);
    expect(await c.updateJobProgress(job.id, { bytesSent: 5 })).toBe(true);
    expect(await c.getJob(job.id)).toMatchObject({ bytesScanned: BIG, filesScanned: 10, bytesTotal: BIG * 2, bytesSent: 5 });
    expect(await c.updateJobProgress(job.id, {})).toBe(true);
    expect(await c.updateJobProgress(MISSING, { bytesSent: 1 })).toBe(false);

    clock.advance(1000);
    const pointId = crypto.randomUUID();
    const done = await c.finishJob(job.id, 'succeeded', {
      bytesStored: BIG,
      pointId,
      result: { pointId, durationMs: 1000 },
    });
    expect(done).toMatchObject({ state: 'succeeded', finishedAt: clock.now(), bytesStored: BIG, pointId });
    expect(await c.getJob(job.id)).toEqual(done);
    expect((await c.getJob(job.id))!.result).toEqual({ pointId, durationMs: 1000 });
    expect(await c.findRunningJobs()).toEqual([]);

    // Late progress is dropped; a second finish loses.
    expect(await c.updateJobProgress(job.id, { bytesSent: 999 })).toBe(false);
    await expect(c.finishJob(job.id, 'failed', { errorMessage: 'late' })).rejects.toMatchObject({ code: 'JOB_FINISHED' });
    expect((await c.getJob(job.id))!.state).toBe('succeeded');
    await expect(c.finishJob(MISSING, 'failed')).rejects.toMatchObject({ code: 'NOT_FOUND', httpStatus: 404 });
  });

  it('a job created running, failed with an error; startedAt is kept or filled in', async () => {
    const clock = fakeClock();
    const c = await h.open({ clock });
    const startedAt = new Date(clock.now().getTime() - 5000);
    const running = await c.createJob({ type: 'restore', state: 'running', startedAt });
    expect(running.startedAt).toEqual(startedAt);
    const failed = await c.finishJob(running.id, 'failed', { errorMessage: 'disk full', result: null });
    expect(failed).toMatchObject({ state: 'failed', errorMessage: 'disk full', startedAt, result: null });

    const queued = await c.createJob({ type: 'gc' });
    const cancelled = await c.finishJob(queued.id, 'cancelled');
    expect(cancelled.startedAt).toEqual(clock.now());
    await expect(c.finishJob(queued.id, 'running' as never)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(c.createJob({ type: 'dance' as never })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('warnings are capped, counted and cut', async () => {
    const c = await h.open();
    const job = await c.createJob({ type: 'backup', state: 'running' });
    expect(await c.addJobWarnings(job.id, ['first', 'x'.repeat(MAX_WARNING_LENGTH + 50)])).toBe(true);
    const many = Array.from({ length: MAX_JOB_WARNINGS + 20 }, (_, i) => `w${i}`);
    const done = await c.finishJob(job.id, 'warning', { warnings: many });
    expect(done.warningCount).toBe(MAX_JOB_WARNINGS + 22);
    expect(done.warnings).toHaveLength(MAX_JOB_WARNINGS);
    expect(done.warnings[0]).toBe('first');
    expect(done.warnings[1]).toHaveLength(MAX_WARNING_LENGTH);
    expect(done.warnings[2]).toBe('w0');
    expect(await c.getJob(job.id)).toEqual(done);
    expect(await c.addJobWarnings(MISSING, ['x'])).toBe(false);
  });

  it('list filters by type, state, agent, source and time, newest first, with limit and offset', async () => {
    const clock = fakeClock();
    const c = await h.open({ clock });
    const agentId = crypto.randomUUID();
    const dataSourceId = crypto.randomUUID();
    const jobs = [];
    for (let i = 0; i < 12; i++) {
      clock.advance(1000);
      jobs.push(
        await c.createJob({
          type: i % 3 === 0 ? 'backup' : i % 3 === 1 ? 'restore' : 'verify',
          agentId: i < 6 ? agentId : null,
          dataSourceId: i % 2 === 0 ? dataSourceId : null,
        }),
      );
    }
    await c.finishJob(jobs[0]!.id, 'failed', { errorMessage: 'x' });
    await c.startJob(jobs[1]!.id);
    const ids = (js: { id: string }[]) => js.map((j) => j.id);
    const newestFirst = [...jobs].reverse();

    expect(ids(await c.listJobs())).toEqual(ids(newestFirst));
    expect(ids(await c.listJobs({ limit: 3 }))).toEqual(ids(newestFirst.slice(0, 3)));
    expect(ids(await c.listJobs({ limit: 3, offset: 3 }))).toEqual(ids(newestFirst.slice(3, 6)));
    expect(ids(await c.listJobs({ type: 'backup' }))).toEqual(ids(newestFirst.filter((j) => j.type === 'backup')));
    expect(ids(await c.listJobs({ type: ['restore', 'verify'], agentId }))).toEqual(
      ids(newestFirst.filter((j) => j.type !== 'backup' && j.agentId === agentId)),
    );
    expect(ids(await c.listJobs({ state: 'failed' }))).toEqual([jobs[0]!.id]);
    expect(ids(await c.listJobs({ state: ['running', 'failed'] }))).toEqual([jobs[1]!.id, jobs[0]!.id]);
    expect(ids(await c.listJobs({ dataSourceId }))).toEqual(ids(newestFirst.filter((j) => j.dataSourceId)));
    expect(ids(await c.listJobs({ since: jobs[9]!.createdAt }))).toEqual(ids(newestFirst.slice(0, 3)));
    expect(ids(await c.listJobs({ before: jobs[2]!.createdAt }))).toEqual([jobs[1]!.id, jobs[0]!.id]);
    expect(ids(await c.listJobs({ since: jobs[2]!.createdAt, before: jobs[4]!.createdAt }))).toEqual([
      jobs[3]!.id,
      jobs[2]!.id,
    ]);
    await expect(c.listJobs({ state: 'sleeping' as never })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('failInterruptedJobs ends every queued and running job', async () => {
    const clock = fakeClock();
    const c = await h.open({ clock });
    const q = await c.createJob({ type: 'backup' });
    const r = await c.createJob({ type: 'restore', state: 'running' });
    const done = await c.createJob({ type: 'gc', state: 'running' });
    await c.finishJob(done.id, 'succeeded');
    clock.advance(1000);
    expect(await c.failInterruptedJobs('the server stopped while the job ran')).toBe(2);
    for (const id of [q.id, r.id]) {
      expect(await c.getJob(id)).toMatchObject({
        state: 'failed',
        finishedAt: clock.now(),
        errorMessage: 'the server stopped while the job ran',
      });
    }
    expect((await c.getJob(done.id))!.state).toBe('succeeded');
    expect(await c.findRunningJobs()).toEqual([]);
  });
});
