/**
 * A year of online backups on a fake clock: at every slot of the schedule a
 * point is added and retention applied, pruned points dropped (what the
 * scheduler does). At the end the survivors must be exactly those an
 * independent computation (luxon's calendar arithmetic, straight from the
 * rules' wording) says, and a few are pinned by hand.
 */
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { evaluateOnlineRetention } from '../../server/src/retention/evaluate.js';
import { parseOnlinePolicy, type OnlinePolicySpec } from '../../server/src/retention/policy.js';
import { onlineSlotsBetween } from '../../server/src/retention/schedule.js';

function simulate(spec: OnlinePolicySpec, from: Date, now: Date) {
  let points: Date[] = [];
  let pruned = 0;
  const slots = onlineSlotsBetween(spec, from, now);
  for (const slot of slots) {
    const decisions = evaluateOnlineRetention([...points, slot], spec, slot); // the clock stands at the slot
    points = decisions.filter((d) => d.keep).map((d) => d.time);
    pruned += decisions.length - points.length;
  }
  const final = evaluateOnlineRetention(points, spec, now);
  return { slots, final, survivors: final.filter((d) => d.keep).map((d) => d.time.toISOString()), pruned };
}

const SPEC = parseOnlinePolicy({
  schedule: { frequency: 'daily', times: ['22:00'] },
  retention: { daily: { count: 30 }, weekly: { count: 12, weekday: 'sun' }, monthly: { count: 12, day: 'first-sun' }, yearly: { count: 5, month: 1, day: 1 } },
  timeZone: 'Europe/Stockholm',
});

describe('a simulated year of online backups', () => {
  it('daily at 22:00 with daily, weekly, monthly and yearly rules: exactly the expected points survive', () => {
    const zone = 'Europe/Stockholm';
    const from = DateTime.fromISO('2026-01-01T00:00', { zone });
    const now = DateTime.fromISO('2027-01-01T12:00', { zone });
    const started = performance.now();
    const { slots, final, survivors, pruned } = simulate(SPEC, from.toJSDate(), now.toJSDate());
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(slots).toHaveLength(365);

    // Independent: every day of 2026 had a point at 22:00 local; apply the rules' wording with luxon.
    const expected: string[] = [];
    for (let d = from.set({ hour: 22 }); d < now; d = d.plus({ days: 1 })) {
      const firstSunday = d.weekday === 7 && d.day <= 7;
      const held = d.plus({ days: 30 }) > now
        || (d.weekday === 7 && d.plus({ weeks: 12 }) > now)
        || (firstSunday && d.plus({ months: 12 }) > now)
        || (d.month === 1 && d.day === 1 && d.plus({ years: 5 }) > now);
      if (held) expected.push(d.toUTC().toISO()!);
    }
    expect(survivors).toEqual(expected);
    expect(pruned).toBe(365 - survivors.length);

    // By hand: 30 daily (Dec 2-31), 8 more Sundays (Oct 11 - Nov 29), 10 more first Sundays (Jan 4 - Oct 4), Jan 1.
    expect(survivors).toHaveLength(30 + 8 + 10 + 1);
    const reasons = Object.fromEntries(final.map((d) => [d.time.toISOString(), d.reasons]));
    expect(reasons['2026-01-01T21:00:00.000Z']).toEqual(['yearly-1']);
    expect(reasons['2026-01-04T21:00:00.000Z']).toEqual(['monthly-12']);
    expect(reasons['2026-10-04T20:00:00.000Z']).toEqual(['monthly-3']);
    expect(reasons['2026-10-11T20:00:00.000Z']).toEqual(['weekly-12']);
    expect(reasons['2026-11-01T21:00:00.000Z']).toEqual(['weekly-9', 'monthly-2']);
    expect(reasons['2026-12-02T21:00:00.000Z']).toEqual(['daily-30']);
    expect(reasons['2026-12-06T21:00:00.000Z']).toEqual(['daily-26', 'weekly-4', 'monthly-1']);
    expect(reasons['2026-12-31T21:00:00.000Z']).toEqual(['daily-1']);
    expect(survivors).not.toContain('2026-12-01T21:00:00.000Z');
    expect(survivors).not.toContain('2026-10-04T20:00:00.000Z'.replace('10-04', '10-05')); // a Monday, long past its 30 days

    // Pruning as we go loses nothing a single evaluation of the whole year would keep: the rules only ever let go.
    const oneShot = evaluateOnlineRetention(slots, SPEC, now.toJSDate()).filter((d) => d.keep).map((d) => d.time.toISOString());
    expect(oneShot).toEqual(survivors);
  });

  it('two years of a weekly schedule, twice a day on two weekdays (New York): the newest Sunday point is the weekly one', () => {
    const zone = 'America/New_York';
    const spec = parseOnlinePolicy({
      schedule: { frequency: 'weekly', weekdays: ['wed', 'sun'], times: ['20:00', '08:00'] },
      retention: { daily: { count: 7 }, weekly: { count: 6, weekday: 'sun' }, monthly: { count: 6, day: 'last-sun' }, yearly: { count: 2, month: 12, day: 'last-sun' } },
      timeZone: zone,
    });
    const from = DateTime.fromISO('2025-01-01T00:00', { zone });
    const now = DateTime.fromISO('2027-01-02T09:00', { zone });
    const { slots, survivors } = simulate(spec, from.toJSDate(), now.toJSDate());
    expect(slots.length).toBe(2 * (105 + 104)); // Wednesdays and Sundays, 2025-01-01 .. 2027-01-02

    const expected = slots.map((s) => DateTime.fromJSDate(s, { zone })).filter((d) => {
      if (d.weekday !== 7 || d.hour !== 20) return false; // the daily rule does not apply to a weekly schedule; 08:00 is not the newest of its day
      const lastSunday = d.plus({ weeks: 1 }).month !== d.month;
      return d.plus({ weeks: 6 }) > now
        || (lastSunday && d.plus({ months: 6 }) > now)
        || (lastSunday && d.month === 12 && d.plus({ years: 2 }) > now);
    }).map((d) => d.toUTC().toISO()!);
    expect(survivors).toEqual(expected);
    // By hand: Sundays Nov 29 .. Dec 27 2026 (weekly; Jan 3 2027 is still ahead), last Sundays Jul .. Dec 2026, and Dec 28 2025.
    expect(survivors.map((s) => DateTime.fromISO(s, { zone }).toISODate())).toEqual([
      '2025-12-28', '2026-07-26', '2026-08-30', '2026-09-27', '2026-10-25', '2026-11-22', '2026-11-29', '2026-12-06', '2026-12-13', '2026-12-20', '2026-12-27',
    ]);
  });
});
