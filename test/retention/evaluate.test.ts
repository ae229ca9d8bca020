import { describe, expect, it } from 'vitest';
import { evaluateOnlineRetention, evaluateShortTermRetention } from '../../server/src/retention/evaluate.js';
import { parseOnlinePolicy, parseShortTermPolicy, type OnlinePolicySpec } from '../../server/src/retention/policy.js';

/** Rule tables: point (ISO) -> its reasons; a pruned point's reasons start with 'outside-retention'. */
type Table = Record<string, string>;

function decide(spec: OnlinePolicySpec, now: string, points: string[]): Table {
  const d = evaluateOnlineRetention(points.map((p) => new Date(p)), spec, new Date(now));
  expect(d.map((x) => x.time.toISOString())).toEqual(points.map((p) => new Date(p).toISOString())); // input order
  for (const x of d) expect(x.keep).toBe(x.reasons[0] !== 'outside-retention');
  return Object.fromEntries(d.map((x, i) => [points[i]!, x.reasons.join(' ')]));
}

function check(spec: OnlinePolicySpec, now: string, table: Table) {
  expect(decide(spec, now, Object.keys(table))).toEqual(table);
}

const policy = (retention: unknown, schedule: unknown = { frequency: 'daily', times: ['22:00'] }, timeZone = 'UTC') =>
  parseOnlinePolicy({ schedule, retention, timeZone });

// 2026-03-15 is a Sunday. 2026-03-01 and 2026-02-01 are the first Sundays of their months.
const SUN = '2026-03-15T23:00:00Z';

describe('online retention rules (UTC, table-driven)', () => {
  it('daily N keeps every point N days from when it was taken; daily-1 is its first day', () => {
    check(policy({ daily: { count: 3 } }), SUN, {
      '2026-03-16T01:00:00Z': 'future',
      '2026-03-15T22:00:00Z': 'daily-1',
      '2026-03-15T10:00:00Z': 'daily-1',
      '2026-03-14T22:00:00Z': 'daily-2',
      '2026-03-13T00:00:00Z': 'daily-3',
      '2026-03-12T23:00:01Z': 'daily-3',
      '2026-03-12T23:00:00Z': 'outside-retention daily:older-than-3-days', // exactly 3 days old
      '2026-03-12T10:00:00Z': 'outside-retention daily:older-than-3-days',
      '2025-03-15T22:00:00Z': 'outside-retention daily:older-than-3-days',
    });
  });

  it('weekly N keeps the newest point of each W-day N weeks', () => {
    const spec = policy({ weekly: { count: 2, weekday: 'sun' } });
    check(spec, SUN, {
      '2026-03-15T22:00:00Z': 'weekly-1',
      '2026-03-15T10:00:00Z': 'outside-retention weekly:not-newest-of-day',
      '2026-03-14T22:00:00Z': 'outside-retention weekly:not-a-sun',
      '2026-03-08T22:00:00Z': 'weekly-2',
      '2026-03-01T22:00:00Z': 'outside-retention weekly:older-than-2-weeks',
    });
    // On the Saturday before, the two Sundays before are weekly-1 and weekly-2.
    check(spec, '2026-03-14T23:00:00Z', { '2026-03-08T22:00:00Z': 'weekly-1', '2026-03-01T22:00:00Z': 'weekly-2', '2026-02-22T22:00:00Z': 'outside-retention weekly:older-than-2-weeks' });
  });

  it.each<[string, unknown, string, Table]>([
    ['first-sun', 'first-sun', SUN, {
      '2026-03-01T22:00:00Z': 'monthly-1', '2026-02-01T22:00:00Z': 'monthly-2', '2026-01-04T22:00:00Z': 'monthly-3',
      '2025-12-07T22:00:00Z': 'outside-retention monthly:older-than-3-months', '2026-03-08T22:00:00Z': 'outside-retention monthly:not-first-sun',
    }],
    ['last (day of the month)', 'last', SUN, {
      '2026-02-28T22:00:00Z': 'monthly-1', '2026-01-31T22:00:00Z': 'monthly-2', '2025-12-31T22:00:00Z': 'monthly-3',
      '2025-11-30T22:00:00Z': 'outside-retention monthly:older-than-3-months', '2026-02-27T22:00:00Z': 'outside-retention monthly:not-last-day',
    }],
    ['last in a leap year: Feb 29, not Feb 28', 'last', '2028-03-05T12:00:00Z', {
      '2028-02-29T22:00:00Z': 'monthly-1', '2028-02-28T22:00:00Z': 'outside-retention monthly:not-last-day', '2028-01-31T22:00:00Z': 'monthly-2',
    }],
    ['last-fri', 'last-fri', SUN, {
      '2026-02-27T22:00:00Z': 'monthly-1', '2026-01-30T22:00:00Z': 'monthly-2', '2025-12-26T22:00:00Z': 'monthly-3',
      '2025-11-28T22:00:00Z': 'outside-retention monthly:older-than-3-months', '2026-02-20T22:00:00Z': 'outside-retention monthly:not-last-fri',
      '2026-03-13T22:00:00Z': 'outside-retention monthly:not-last-fri',
    }],
    ['28', 28, SUN, {
      '2026-02-28T22:00:00Z': 'monthly-1', '2026-01-28T22:00:00Z': 'monthly-2', '2025-12-28T22:00:00Z': 'monthly-3',
      '2025-11-28T22:00:00Z': 'outside-retention monthly:older-than-3-months', '2026-02-27T22:00:00Z': 'outside-retention monthly:not-day-28',
    }],
    ['1: a point is kept N months from its time, so just after a new one there are N+1', 1, '2026-03-01T00:01:00Z', {
      '2026-03-01T00:00:00Z': 'monthly-1', '2026-02-01T22:00:00Z': 'monthly-1', '2026-01-01T22:00:00Z': 'monthly-2',
      '2025-12-01T22:00:00Z': 'monthly-3', '2025-11-01T22:00:00Z': 'outside-retention monthly:older-than-3-months',
    }],
    ['1, across the year boundary (the minute before Mar 1)', 1, '2026-02-28T23:59:00Z', {
      '2026-02-01T22:00:00Z': 'monthly-1', '2026-01-01T22:00:00Z': 'monthly-2', '2025-12-01T22:00:00Z': 'monthly-3',
      '2025-11-01T22:00:00Z': 'outside-retention monthly:older-than-3-months',
    }],
  ])('monthly day %s', (_name, day, now, table) => {
    check(policy({ monthly: { count: 3, day } }), now, table);
  });

  it.each<[string, unknown, number, string, Table]>([
    ['Jan 1', 1, 1, SUN, {
      '2026-01-01T22:00:00Z': 'yearly-1', '2025-01-01T22:00:00Z': 'yearly-2', '2024-01-01T22:00:00Z': 'outside-retention yearly:older-than-2-years',
      '2026-01-02T22:00:00Z': 'outside-retention yearly:not-jan-1', '2026-02-01T22:00:00Z': 'outside-retention yearly:not-jan-1',
    }],
    ['Jan 1, on Dec 31 the year has not turned', 1, 1, '2025-12-31T23:59:59Z', { '2025-01-01T22:00:00Z': 'yearly-1', '2024-01-01T22:00:00Z': 'yearly-2' }],
    ['last day of Feb, leap and common years', 'last', 2, '2028-06-01T00:00:00Z', {
      '2028-02-29T22:00:00Z': 'yearly-1', '2028-02-28T22:00:00Z': 'outside-retention yearly:not-feb-last-day', '2027-02-28T22:00:00Z': 'yearly-2',
      '2026-02-28T22:00:00Z': 'outside-retention yearly:older-than-2-years',
    }],
    ['first Sunday of March', 'first-sun', 3, SUN, {
      '2026-03-01T22:00:00Z': 'yearly-1', '2025-03-02T22:00:00Z': 'yearly-2', '2025-03-09T22:00:00Z': 'outside-retention yearly:not-mar-first-sun',
    }],
  ])('yearly %s', (_name, day, month, now, table) => {
    check(policy({ yearly: { count: 2, month, day } }), now, table);
  });

  it('a point held by several rules lists every reason, daily weekly monthly yearly', () => {
    const spec = policy({ daily: { count: 30 }, weekly: { count: 12, weekday: 'sun' }, monthly: { count: 12, day: 'first-sun' }, yearly: { count: 5, month: 3, day: 'first-sun' } });
    check(spec, SUN, {
      '2026-03-15T22:00:00Z': 'daily-1 weekly-1',
      '2026-03-14T22:00:00Z': 'daily-2',
      '2026-03-01T22:00:00Z': 'daily-15 weekly-3 monthly-1 yearly-1',
      '2026-02-01T22:00:00Z': 'weekly-7 monthly-2',
      '2026-01-04T22:00:00Z': 'weekly-11 monthly-3',
      '2025-03-02T22:00:00Z': 'yearly-2', // monthly-13 is past the 12 months
      '2026-01-10T22:00:00Z': 'outside-retention daily:older-than-30-days weekly:not-a-sun monthly:not-first-sun yearly:not-mar-first-sun',
    });
  });

  it('a weekly schedule has no daily retention: its daily count holds nothing', () => {
    const spec = parseOnlinePolicy({
      schedule: { frequency: 'weekly', weekdays: ['sun'], times: ['22:00'] },
      retention: { daily: { count: 30 }, weekly: { count: 12, weekday: 'sun' } }, timeZone: 'UTC',
    });
    check(spec, SUN, {
      '2026-03-15T22:00:00Z': 'weekly-1',
      '2026-03-14T22:00:00Z': 'outside-retention daily:not-on-weekly-schedule weekly:not-a-sun',
    });
  });

  it("days and their lengths are the policy's local days, not UTC days", () => {
    // 23:30 UTC on Saturday is 00:30 on Sunday in Stockholm (CET, +1).
    const points = ['2026-03-14T23:30:00Z'];
    const rules = { weekly: { count: 1, weekday: 'sun' } };
    expect(decide(policy(rules, undefined, 'Europe/Stockholm'), '2026-03-15T12:00:00Z', points)).toEqual({ '2026-03-14T23:30:00Z': 'weekly-1' });
    expect(decide(policy(rules, undefined, 'UTC'), '2026-03-15T12:00:00Z', points)).toEqual({ '2026-03-14T23:30:00Z': 'outside-retention weekly:not-a-sun' });
    // New York springs forward on 2026-03-08: a point of noon on the 7th (EST) is one day old at noon on the 8th (EDT), 23 hours later.
    const ny = policy({ daily: { count: 1 } }, undefined, 'America/New_York');
    expect(decide(ny, '2026-03-08T15:59:00Z', ['2026-03-07T17:00:00Z'])).toEqual({ '2026-03-07T17:00:00Z': 'daily-1' });
    expect(decide(ny, '2026-03-08T16:00:00Z', ['2026-03-07T17:00:00Z'])).toEqual({ '2026-03-07T17:00:00Z': 'outside-retention daily:older-than-1-days' });
  });

  it('an empty list gives no decisions; duplicates of the newest time are all held', () => {
    expect(evaluateOnlineRetention([], policy({ daily: { count: 1 } }), new Date(SUN))).toEqual([]);
    const t = new Date('2026-03-15T22:00:00Z');
    const d = evaluateOnlineRetention([t, t], policy({ weekly: { count: 1, weekday: 'sun' } }), new Date(SUN));
    expect(d.map((x) => x.reasons)).toEqual([['weekly-1'], ['weekly-1']]);
  });
});

describe('short-term retention', () => {
  const now = new Date('2026-03-15T12:00:00Z');
  const ago = (ms: number) => new Date(now.getTime() - ms);
  const H = 3_600_000;
  const D = 24 * H;

  it.each<[string, number, boolean, string[]]>([
    ['an hour old', H, true, ['within-14-days']],
    ['a millisecond short of 14 days', 14 * D - 1, true, ['within-14-days']],
    ['exactly 14 days', 14 * D, false, ['outside-14-days']],
    ['a year old', 365 * D, false, ['outside-14-days']],
    ['in the future', -H, true, ['future']],
  ])('a point %s', (_n, age, keep, reasons) => {
    const [d] = evaluateShortTermRetention([ago(age)], parseShortTermPolicy({ syncFrequency: '15m', retentionDays: 14 }), now);
    expect({ keep: d!.keep, reasons: d!.reasons }).toEqual({ keep, reasons });
  });

  it('keeps at most maxPoints, the newest; the rest are over the cap (input order kept)', () => {
    const policy = parseShortTermPolicy({ syncFrequency: '1h', retentionDays: 14 });
    const points = Array.from({ length: 70 }, (_, i) => ago(i * H)).reverse(); // oldest first
    const d = evaluateShortTermRetention(points, policy, now);
    expect(d.map((x) => x.time)).toEqual(points);
    expect(d.filter((x) => x.keep)).toHaveLength(64);
    expect(d.slice(0, 6).map((x) => x.reasons)).toEqual(Array(6).fill(['within-14-days', 'over-cap-64']));
    expect(d.slice(6).every((x) => x.keep && x.reasons.join() === 'within-14-days')).toBe(true);
  });

  it('a raised cap keeps more; both limits can prune one point; future points do not count against the cap', () => {
    const policy = parseShortTermPolicy({ syncFrequency: '1h', retentionDays: 1, maxPoints: 2 });
    const d = evaluateShortTermRetention([ago(H), now, ago(2 * D), ago(-H), ago(2 * H)], policy, now);
    expect(d.map((x) => [x.keep, x.reasons.join(' ')])).toEqual([
      [true, 'within-1-days'], [true, 'within-1-days'], [false, 'outside-1-days over-cap-2'], [true, 'future'], [false, 'within-1-days over-cap-2'],
    ]);
    const raised = evaluateShortTermRetention(Array.from({ length: 100 }, (_, i) => ago(i * 60_000)), { ...policy, maxPoints: 100 }, now);
    expect(raised.every((x) => x.keep)).toBe(true);
  });
});
