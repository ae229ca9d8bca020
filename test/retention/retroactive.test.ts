/**
 * The four retroactive policy changes. Retention is a pure function of
 * (points, current policy, now), so a change is just evaluating the existing
 * points under the new policy; each case shows the old policy's answer beside
 * the new one.
 */
import { describe, expect, it } from 'vitest';
import { evaluateOnlineRetention } from '../../server/src/retention/evaluate.js';
import { parseOnlinePolicy, type OnlinePolicySpec } from '../../server/src/retention/policy.js';
import { onlineSlotsBetween } from '../../server/src/retention/schedule.js';

const TZ = 'Europe/Stockholm';
const DAILY = { frequency: 'daily', times: ['22:00'] };
const WEEKLY = { frequency: 'weekly', weekdays: ['sun'], times: ['22:00'] };
const spec = (schedule: unknown, retention: unknown) => parseOnlinePolicy({ schedule, retention, timeZone: TZ });

/** Runs a schedule on a fake clock from `from` to `to`, pruning after every new point. */
function run(policy: OnlinePolicySpec, points: Date[], from: string, to: string): Date[] {
  let kept = points;
  for (const slot of onlineSlotsBetween(policy, new Date(from), new Date(to))) kept = keep([...kept, slot], policy, slot);
  return keep(kept, policy, new Date(to));
}
const keep = (points: Date[], policy: OnlinePolicySpec, now: Date) =>
  evaluateOnlineRetention(points, policy, now).filter((d) => d.keep).map((d) => d.time);
const iso = (d: Date[]) => d.map((x) => x.toISOString());
const reasonsOf = (points: Date[], policy: OnlinePolicySpec, now: Date) =>
  Object.fromEntries(evaluateOnlineRetention(points, policy, now).map((d) => [d.time.toISOString(), d.reasons.join(' ')]));

// Saturday 2026-06-13, noon in Stockholm (CEST, +2).
const NOW = '2026-06-13T10:00:00Z';

describe('policy changes apply retroactively to existing points', () => {
  const cases: Array<{ change: string; check: () => void }> = [
    {
      change: 'raising a retention extends the existing points',
      check: () => {
        const before = spec(DAILY, { daily: { count: 10 } });
        const after = spec(DAILY, { daily: { count: 40 } });
        const points = run(before, [], '2026-05-01T00:00:00Z', NOW); // 10 points: Jun 3 .. Jun 12
        expect(points).toHaveLength(10);
        // Twenty days on: under the old policy Jun 3..12 would be gone; under the raised one they are all still here.
        const later = '2026-07-03T10:00:00Z';
        const old = run(before, points, NOW, later);
        const raised = run(after, points, NOW, later);
        expect(old.filter((p) => points.includes(p))).toEqual([]);
        expect(raised.filter((p) => points.includes(p))).toEqual(points);
        expect(raised).toHaveLength(30); // Jun 3 .. Jul 2
        expect(reasonsOf(raised, after, new Date(later))['2026-06-03T20:00:00.000Z']).toBe('daily-30');
      },
    },
    {
      change: 'lowering a retention prunes the points now outside it',
      check: () => {
        const before = spec(DAILY, { daily: { count: 60 }, monthly: { count: 12, day: 1 } });
        const after = spec(DAILY, { daily: { count: 7 }, monthly: { count: 1, day: 1 } });
        const points = run(before, [], '2026-03-01T00:00:00Z', NOW);
        expect(points).toHaveLength(60 + 2); // Apr 14 .. Jun 12, plus Apr 1 and Mar 1 (May 1 and Jun 1 are daily points too)
        const d = evaluateOnlineRetention(points, after, new Date(NOW));
        expect(iso(d.filter((x) => x.keep).map((x) => x.time))).toEqual([
          '2026-06-01T20:00:00.000Z', // monthly-1 (and too old for 7 days)
          ...['06', '07', '08', '09', '10', '11', '12'].map((day) => `2026-06-${day}T20:00:00.000Z`),
        ]);
        expect(d.find((x) => x.time.toISOString() === '2026-06-05T20:00:00.000Z')!.reasons).toEqual(['outside-retention', 'daily:older-than-7-days', 'monthly:not-day-1']);
        expect(d.find((x) => x.time.toISOString() === '2026-05-01T20:00:00.000Z')!.reasons).toEqual(['outside-retention', 'daily:older-than-7-days', 'monthly:older-than-1-months']);
      },
    },
    {
      change: 'daily -> weekly prunes the daily points that no weekly, monthly or yearly rule holds',
      check: () => {
        const retention = { daily: { count: 30 }, weekly: { count: 4, weekday: 'sun' }, monthly: { count: 6, day: 'first-sun' } };
        const before = spec(DAILY, retention);
        const after = spec(WEEKLY, retention); // same counts, only the schedule changes
        const points = run(before, [], '2026-01-01T00:00:00Z', NOW);
        const old = reasonsOf(points, before, new Date(NOW));
        const now = reasonsOf(points, after, new Date(NOW));
        const keptNow = Object.keys(now).filter((t) => !now[t]!.startsWith('outside'));
        expect(Object.values(old).every((r) => !r.startsWith('outside'))).toBe(true); // all were held before
        expect(keptNow).toEqual([
          '2026-01-04T21:00:00.000Z', '2026-02-01T21:00:00.000Z', '2026-03-01T21:00:00.000Z', // first Sundays (CET): monthly-6..4
          '2026-04-05T20:00:00.000Z', '2026-05-03T20:00:00.000Z',                          // monthly-3, monthly-2
          '2026-05-17T20:00:00.000Z', '2026-05-24T20:00:00.000Z', '2026-05-31T20:00:00.000Z', '2026-06-07T20:00:00.000Z', // weekly-4..1 (Jun 7 also monthly-1)
        ]);
        expect(old['2026-06-12T20:00:00.000Z']).toBe('daily-1');
        expect(now['2026-06-12T20:00:00.000Z']).toBe('outside-retention daily:not-on-weekly-schedule weekly:not-a-sun monthly:not-first-sun');
        expect(now['2026-06-07T20:00:00.000Z']).toBe('weekly-1 monthly-1');
      },
    },
    {
      change: 'weekly -> daily keeps the existing weekly points as long as the current retention holds them',
      check: () => {
        const before = spec(WEEKLY, { weekly: { count: 8, weekday: 'sun' } });
        const weekly = run(before, [], '2026-01-01T00:00:00Z', NOW);
        expect(weekly).toHaveLength(8); // Apr 19 .. Jun 7
        // The new daily policy still has the weekly rule: the Sunday points age out one a week, on the weekly count.
        const after = spec(DAILY, { daily: { count: 7 }, weekly: { count: 8, weekday: 'sun' } });
        const at = (when: string) => run(after, weekly, NOW, when).filter((p) => weekly.includes(p));
        expect(at(NOW)).toEqual(weekly);
        expect(iso(at('2026-06-21T21:00:00Z'))).toEqual(iso(weekly.slice(2))); // two more Sundays: Apr 19 and 26 go
        expect(at('2026-08-09T10:00:00Z')).toEqual([]);
        // With only a daily rule, the old weekly points stay while they are within its days.
        const dailyOnly = spec(DAILY, { daily: { count: 30 } });
        expect(iso(keep(weekly, dailyOnly, new Date(NOW)))).toEqual(['2026-05-17T20:00:00.000Z', '2026-05-24T20:00:00.000Z', '2026-05-31T20:00:00.000Z', '2026-06-07T20:00:00.000Z']);
      },
    },
  ];
  it.each(cases)('$change', ({ check }) => check());
});
