/**
 * The scheduler on a TestClock with a real catalog and fake job starters:
 * when syncs run (every slot, DST days in Europe/Stockholm), what a stopped
 * group runs (nothing), what a 5-hour downtime costs (one run at start-up),
 * and that a job outlasting its slot is never overlapped.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HOUR, MIN, schedulerHarness, settle, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const times = (h: Harness) => h.starters.runs.map((r) => r.at);
const iso = (s: string) => new Date(s).toISOString();

describe('scheduler', () => {
  it('a 15-minute group fires at every 15-minute slot, once', async () => {
    h = await schedulerHarness('2026-03-10T10:07:00Z');
    await h.member({ name: 'fast', syncFrequencyMinutes: 15 });
    await h.scheduler.start();
    await settle(h);
    // A source that never ran starts at once (its initial replica).
    expect(times(h)).toEqual([iso('2026-03-10T10:07:00Z')]);
    expect(h.scheduler.nextSlot).toEqual(new Date('2026-03-10T10:15:00Z'));
    // Ticks at 10:15 and then every 5 minutes until noon: one run per slot, at the slot.
    await h.step(8 * MIN);
    while (h.clock.now() < new Date('2026-03-10T12:00:00Z')) await h.step(5 * MIN);
    const expected = ['10:07'];
    for (let m = 10 * 60 + 15; m <= 12 * 60; m += 15) expected.push(`${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`);
    expect(times(h)).toEqual(expected.map((t) => iso(`2026-03-10T${t}:00Z`)));
    // Each run was a catalog row: scheduled, queued first, ended.
    const jobs = await h.catalog.listJobs({ type: 'backup', limit: 1000 });
    expect(jobs).toHaveLength(expected.length);
    expect(jobs.every((j) => j.state === 'succeeded' && j.params.scheduled === true)).toBe(true);
  });

  it('a stopped group runs nothing, and what waited for it is cancelled', async () => {
    h = await schedulerHarness('2026-03-10T10:00:00Z');
    await h.member({ name: 'stopped', syncFrequencyMinutes: 15, state: 'stopped' });
    const busy = await h.member({ name: 'busy', syncFrequencyMinutes: 15 });
    h.starters.hold = true;
    await h.scheduler.start();
    await settle(h);
    expect(h.starters.runs.map((r) => r.dataSourceId)).toEqual([busy.sourceId]);
    await h.step(15 * MIN); // a second run of 'busy' waits behind the held one
    const waiting = h.queue.list().filter((t) => t.state === 'waiting');
    expect(waiting).toHaveLength(1);
    await h.catalog.updateProtectionGroup(busy.groupId, { state: 'stopped' });
    for (let i = 0; i < 8; i++) await h.step(15 * MIN);
    expect(h.starters.runs).toHaveLength(1);
    const row = await h.catalog.getJob(waiting[0]!.jobId);
    expect(row).toMatchObject({ state: 'cancelled', errorMessage: 'protection of the data source was stopped' });
  });

  it('after a 5-hour downtime the missed sync runs once at start-up, not once per missed slot', async () => {
    h = await schedulerHarness('2026-03-10T10:00:00Z');
    await h.member({ name: 'g', syncFrequencyMinutes: 15 });
    await h.scheduler.start();
    await h.step(15 * MIN);
    expect(times(h)).toEqual([iso('2026-03-10T10:00:00Z'), iso('2026-03-10T10:15:00Z')]);
    await h.restart(); // the server goes down ...
    h.clock.advance(5 * HOUR + 3 * MIN); // ... for 20 slots
    await h.scheduler.start();
    await settle(h);
    expect(times(h)).toEqual([iso('2026-03-10T10:00:00Z'), iso('2026-03-10T10:15:00Z'), iso('2026-03-10T15:18:00Z')]);
    await h.step(1 * MIN);
    expect(h.starters.runs).toHaveLength(3);
    await h.step(11 * MIN); // 15:30, the next slot
    expect(times(h).at(-1)).toBe(iso('2026-03-10T15:30:00Z'));
    expect(h.starters.runs).toHaveLength(4);
  });

  it('on the spring-forward day in Europe/Stockholm an hourly group runs at each local hour, 02:00 (skipped) once at 03:00', async () => {
    h = await schedulerHarness('2026-03-28T22:30:00Z', { timeZone: 'Europe/Stockholm' }); // 23:30 CET
    await h.member({ name: 'hourly', syncFrequencyMinutes: 60 });
    await h.scheduler.start();
    await settle(h);
    const planned: string[] = [];
    while (h.clock.now() < new Date('2026-03-29T04:00:00Z')) {
      planned.push(h.scheduler.nextSlot!.toISOString());
      await h.step(15 * MIN);
    }
    // Local: 23:30 (first), 00:00, 01:00, 03:00 CEST (02:00 does not exist), 04:00, 05:00, 06:00.
    const expected = ['22:30', '23:00', '00:00', '01:00', '02:00', '03:00', '04:00'].map((t, i) => iso(`2026-03-${i < 2 ? 28 : 29}T${t}:00Z`));
    expect(times(h)).toEqual(expected);
    // node-schedule would have been armed at exactly those instants.
    expect([...new Set(planned)]).toEqual(expected.slice(1));
  });

  it('on the fall-back day in Europe/Stockholm the repeated 02:00 runs at both occurrences (a sync is an interval)', async () => {
    h = await schedulerHarness('2026-10-24T21:30:00Z', { timeZone: 'Europe/Stockholm' }); // 23:30 CEST
    await h.member({ name: 'hourly', syncFrequencyMinutes: 60 });
    await h.scheduler.start();
    await settle(h);
    while (h.clock.now() < new Date('2026-10-25T03:00:00Z')) await h.step(15 * MIN);
    // Local: 23:30 (first), 00:00, 01:00, 02:00 CEST, 02:00 CET, 03:00, 04:00 — always an hour apart.
    expect(times(h)).toEqual(['2026-10-24T21:30', '2026-10-24T22:00', '2026-10-24T23:00', '2026-10-25T00:00', '2026-10-25T01:00', '2026-10-25T02:00', '2026-10-25T03:00'].map((t) => iso(`${t}:00Z`)));
  });

  it('a daily group in Stockholm runs at local midnight on both sides of the DST change', async () => {
    h = await schedulerHarness('2026-03-27T12:00:00Z', { timeZone: 'Europe/Stockholm' });
    await h.member({ name: 'daily', syncFrequencyMinutes: 1440 });
    await h.scheduler.start();
    while (h.clock.now() < new Date('2026-03-31T00:00:00Z')) await h.step(HOUR);
    expect(times(h)).toEqual(['2026-03-27T12:00', '2026-03-27T23:00', '2026-03-28T23:00', '2026-03-29T22:00', '2026-03-30T22:00'].map((t) => iso(`${t}:00Z`)));
  });

  it('never overlaps a job on one source: a run that outlasts its slot is followed by one run, after it', async () => {
    h = await schedulerHarness('2026-03-10T10:00:00Z');
    const m = await h.member({ name: 'slow', syncFrequencyMinutes: 15 });
    h.starters.hold = true;
    await h.scheduler.start();
    await settle(h);
    expect(h.starters.runs).toHaveLength(1);
    await h.step(15 * MIN);
    await h.step(15 * MIN);
    await h.step(15 * MIN);
    // Three slots passed while the first run was held: nothing else ran on the source,
    // and exactly one row waits (a queued job, visible to the admin).
    expect(h.starters.runs).toHaveLength(1);
    expect(h.queue.list().map((t) => [t.dataSourceId, t.state])).toEqual([[m.sourceId, 'running'], [m.sourceId, 'waiting']]);
    const rows = await h.catalog.listJobs({ type: 'backup', limit: 100 });
    expect(rows.map((j) => j.state)).toEqual(['queued', 'running']);
    h.starters.hold = false;
    h.starters.release();
    await h.queue.idle();
    // The waiting run started as soon as the first ended, not at the next slot.
    expect(times(h)).toEqual([iso('2026-03-10T10:00:00Z'), iso('2026-03-10T10:45:00Z')]);
    await h.step(15 * MIN);
    expect(h.starters.runs).toHaveLength(3);
  });

  it('queues an online backup at its slot, the first one after the first disk point', async () => {
    h = await schedulerHarness('2026-03-10T12:00:00Z');
    await h.catalog.createVault({ name: 'offsite', config: { path: '/tmp/offsite' } });
    const policy = await h.catalog.createOnlinePolicy({ name: 'nightly', spec: { schedule: { frequency: 'daily', times: ['22:00'] }, retention: { daily: { count: 30 } }, timeZone: 'UTC' } });
    const m = await h.member({ name: 'online', syncFrequencyMinutes: 1440, onlinePolicyId: policy.id });
    await h.catalog.createRecoveryPoint({ dataSourceId: m.sourceId, agentId: m.agentId, jobId: crypto.randomUUID(), root: [], files: 0, dirs: 1, bytes: 0, bytesAdded: 0 });
    await h.scheduler.start();
    await settle(h);
    // Yesterday's 22:00 slot was before the first disk point: only the initial sync.
    expect(h.starters.runs.map((r) => r.kind)).toEqual(['backup']);
    expect(h.scheduler.nextSlot).toEqual(new Date('2026-03-10T22:00:00Z'));
    while (h.clock.now() < new Date('2026-03-11T23:00:00Z')) await h.step(HOUR);
    expect(h.starters.runs.map((r) => `${r.kind}@${r.at}`)).toEqual([
      'backup@2026-03-10T12:00:00.000Z', 'upload@2026-03-10T22:00:00.000Z', 'backup@2026-03-11T00:00:00.000Z', 'upload@2026-03-11T22:00:00.000Z',
    ]);
  });

  it('runs garbage collection daily at its time, and a missed one once after a downtime', async () => {
    h = await schedulerHarness('2026-03-10T12:00:00Z', { scheduler: { gcTime: '03:00' } });
    await h.scheduler.start();
    expect(await h.catalog.listJobs({ type: 'gc' })).toEqual([]); // a fresh server waits for 03:00
    await h.step(15 * HOUR); // 03:00
    const gc = await h.catalog.listJobs({ type: 'gc' });
    expect(gc).toHaveLength(1);
    expect(gc[0]!.params).toMatchObject({ scheduled: true, slot: '2026-03-11T03:00:00.000Z' });
    await h.jobs.whenEnded(gc[0]!.id);
    await h.step(HOUR);
    expect(await h.catalog.listJobs({ type: 'gc' })).toHaveLength(1);
    await h.restart();
    h.clock.advance(3 * 24 * HOUR);
    await h.scheduler.start();
    const after = await h.catalog.listJobs({ type: 'gc' });
    expect(after).toHaveLength(2);
    expect((await h.jobs.whenEnded(after[0]!.id)).job?.state).toBe('succeeded');
  });
});
