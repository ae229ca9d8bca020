import { describe, expect, it } from 'vitest';
import { StrataError } from '../../server/src/errors.js';
import {
  DEFAULT_ONLINE_POLICY, formatFrequency, parseOnlinePolicy, parseShortTermPolicy, parseSyncFrequency,
} from '../../server/src/retention/policy.js';

/** The issue's own example: a weekly schedule that also carries a daily count. */
const ISSUE_EXAMPLE = {
  schedule: { frequency: 'weekly', weekdays: ['sun'], times: ['22:00'] },
  retention: { daily: { count: 30 }, weekly: { count: 12, weekday: 'sun' }, monthly: { count: 12, day: 'first-sun' }, yearly: { count: 5, month: 1, day: 1 } },
  timeZone: 'Europe/Stockholm',
};

function refusal(f: () => unknown): StrataError {
  try { f(); } catch (e) {
    expect(e).toBeInstanceOf(StrataError);
    expect((e as StrataError).code).toBe('INVALID_REQUEST');
    expect((e as StrataError).exitCode).toBe(2);
    expect((e as StrataError).httpStatus).toBe(400);
    return e as StrataError;
  }
  throw new Error('expected a refusal');
}

describe('short-term policy', () => {
  it.each([
    ['15m', 15], ['30m', 30], ['45m', 45], ['1h', 60], ['2h', 120], ['4h', 240], ['6h', 360], ['12h', 720], ['24h', 1440],
    [15, 15], [1440, 1440], ['60m', 60], ['1d', 1440], [' 2H ', 120],
  ] as const)('accepts sync frequency %j as %i minutes', (input, minutes) => {
    expect(parseSyncFrequency(input)).toBe(minutes);
  });

  it.each([['20m', '20m'], [20, '20m'], ['5h', '5h'], ['0', '0'], ['', ''], ['fast', 'fast'], [null, 'null'], [15.5, '15.5m']])(
    'refuses sync frequency %j, naming the choices', (input, shown) => {
      expect(refusal(() => parseSyncFrequency(input)).message)
        .toBe(`sync frequency must be one of 15m, 30m, 45m, 1h, 2h, 4h, 6h, 12h, 24h (got ${shown})`);
    });

  it('parses a policy, with the default cap of 64 points', () => {
    expect(parseShortTermPolicy({ syncFrequency: '15m', retentionDays: 14 })).toEqual({ syncFrequencyMinutes: 15, retentionDays: 14, maxPoints: 64 });
    expect(parseShortTermPolicy({ syncFrequency: '1h', retentionDays: 448, maxPoints: 9999 })).toEqual({ syncFrequencyMinutes: 60, retentionDays: 448, maxPoints: 9999 });
    expect(parseShortTermPolicy({ syncFrequency: 1440, retentionDays: 1, maxPoints: 1 })).toEqual({ syncFrequencyMinutes: 1440, retentionDays: 1, maxPoints: 1 });
    const p = parseShortTermPolicy({ syncFrequency: '30m', retentionDays: 5, maxPoints: 100 });
    expect(parseShortTermPolicy(p)).toEqual(p); // the stored form re-parses
  });

  it.each([
    [{ syncFrequency: '15m', retentionDays: 0 }, 'retention range (retentionDays) must be a whole number from 1 to 448 days (got 0)'],
    [{ syncFrequency: '15m', retentionDays: 449 }, 'retention range (retentionDays) must be a whole number from 1 to 448 days (got 449)'],
    [{ syncFrequency: '15m', retentionDays: 2.5 }, 'retention range (retentionDays) must be a whole number from 1 to 448 days (got 2.5)'],
    [{ syncFrequency: '15m' }, 'retention range (retentionDays) must be a whole number from 1 to 448 days (got nothing)'],
    [{ syncFrequency: '15m', retentionDays: 14, maxPoints: 0 }, 'maxPoints (recovery points per data source) must be a whole number from 1 to 9999 points (got 0)'],
    [{ syncFrequency: '15m', retentionDays: 14, maxPoints: 10000 }, 'maxPoints (recovery points per data source) must be a whole number from 1 to 9999 points (got 10000)'],
    [{ retentionDays: 14 }, 'short-term policy needs syncFrequency, one of 15m, 30m, 45m, 1h, 2h, 4h, 6h, 12h, 24h'],
    [{ syncFrequency: '15m', retentionDays: 14, keep: 3 }, 'short-term policy: unknown field "keep" (allowed: syncFrequency, syncFrequencyMinutes, retentionDays, maxPoints)'],
    [[], 'short-term policy must be a JSON object (got [])'],
  ])('refuses %j', (input, message) => {
    expect(refusal(() => parseShortTermPolicy(input)).message).toBe(message);
  });

  it('formats frequencies the way the CLI takes them', () => {
    expect([15, 30, 45, 60, 120, 240, 360, 720, 1440].map(formatFrequency)).toEqual(['15m', '30m', '45m', '1h', '2h', '4h', '6h', '12h', '24h']);
  });
});

describe('online policy', () => {
  it("accepts the issue's example as it is (weekly schedule with a daily count)", () => {
    const spec = parseOnlinePolicy(ISSUE_EXAMPLE);
    expect(spec).toEqual(ISSUE_EXAMPLE);
    expect(parseOnlinePolicy(JSON.parse(JSON.stringify(spec)))).toEqual(spec);
  });

  it('normalizes times, weekdays and day forms; the zone defaults to the server zone, else UTC', () => {
    const spec = parseOnlinePolicy({
      schedule: { frequency: 'weekly', weekdays: ['Friday', 'mon'], times: ['9:30', '06:00', '23:59'] },
      retention: { weekly: { count: '4', weekday: 'FRI' }, monthly: { count: 1, day: 'Last-Friday' }, yearly: { count: 99, month: 12, day: 'last' } },
    }, 'America/New_York');
    expect(spec).toEqual({
      schedule: { frequency: 'weekly', weekdays: ['mon', 'fri'], times: ['06:00', '09:30', '23:59'] },
      retention: { weekly: { count: 4, weekday: 'fri' }, monthly: { count: 1, day: 'last-fri' }, yearly: { count: 99, month: 12, day: 'last' } },
      timeZone: 'America/New_York',
    });
    expect(parseOnlinePolicy({ schedule: { frequency: 'daily', times: ['22:00'] }, retention: { daily: { count: 30 } } }).timeZone).toBe('UTC');
    expect(parseOnlinePolicy({ schedule: { frequency: 'daily', weekdays: [], times: ['00:00'] }, retention: { monthly: { count: 1188, day: 28 } } }).schedule)
      .toEqual({ frequency: 'daily', times: ['00:00'] });
  });

  it('accepts the maxima: daily 9999 days, weekly 5163 weeks, monthly 1188 months, yearly 99 years', () => {
    const spec = parseOnlinePolicy({
      schedule: { frequency: 'daily', times: ['01:00', '02:00', '03:00'] },
      retention: { daily: { count: 9999 }, weekly: { count: 5163, weekday: 'sun' }, monthly: { count: 1188, day: 'first-mon' }, yearly: { count: 99, month: 2, day: 28 } },
    });
    expect(spec.retention).toMatchObject({ daily: { count: 9999 }, weekly: { count: 5163 }, monthly: { count: 1188 }, yearly: { count: 99 } });
  });

  it('DefaultPolicy is daily at 22:00, daily points kept 30 days, and a valid policy', () => {
    expect(DEFAULT_ONLINE_POLICY).toEqual({ schedule: { frequency: 'daily', times: ['22:00'] }, retention: { daily: { count: 30 } }, timeZone: 'UTC' });
    expect(parseOnlinePolicy(DEFAULT_ONLINE_POLICY)).toEqual(DEFAULT_ONLINE_POLICY);
  });

  const daily = (retention: unknown, extra: Record<string, unknown> = {}) => ({ schedule: { frequency: 'daily', times: ['22:00'] }, retention, ...extra });
  const DAY_FORMS = '1 to 28, last, first-<weekday> or last-<weekday> (weekday sun mon tue wed thu fri sat)';
  it.each([
    [{ ...ISSUE_EXAMPLE, schedule: { frequency: 'monthly', times: ['22:00'] } }, 'schedule.frequency must be daily or weekly (got "monthly")'],
    [{ ...ISSUE_EXAMPLE, schedule: { frequency: 'weekly', times: ['22:00'] } }, 'a weekly schedule needs schedule.weekdays, a list from sun mon tue wed thu fri sat'],
    [{ ...ISSUE_EXAMPLE, schedule: { frequency: 'weekly', weekdays: ['sun', 'funday'], times: ['22:00'] } }, 'schedule.weekdays: a weekday is one of sun mon tue wed thu fri sat (got "funday")'],
    [{ ...ISSUE_EXAMPLE, schedule: { frequency: 'weekly', weekdays: ['sun', 'sunday'], times: ['22:00'] } }, 'schedule.weekdays must be distinct (got sun sun)'],
    [daily({ daily: { count: 1 } }, { schedule: { frequency: 'daily', weekdays: ['mon'], times: ['22:00'] } }), 'schedule.weekdays applies only to a weekly schedule (a daily schedule runs every day)'],
    [daily({ daily: { count: 1 } }, { schedule: { frequency: 'daily', times: [] } }), 'schedule.times must list 1 to 3 times of day as HH:MM (got [])'],
    [daily({ daily: { count: 1 } }, { schedule: { frequency: 'daily', times: ['01:00', '02:00', '03:00', '04:00'] } }), 'schedule.times must list 1 to 3 times of day as HH:MM (got ["01:00","02:00","03:00","04:00"])'],
    [daily({ daily: { count: 1 } }, { schedule: { frequency: 'daily', times: ['24:00'] } }), 'schedule.times: each time is HH:MM from 00:00 to 23:59 (got "24:00")'],
    [daily({ daily: { count: 1 } }, { schedule: { frequency: 'daily', times: ['10:60'] } }), 'schedule.times: each time is HH:MM from 00:00 to 23:59 (got "10:60")'],
    [daily({ daily: { count: 1 } }, { schedule: { frequency: 'daily', times: ['10pm'] } }), 'schedule.times: each time is HH:MM from 00:00 to 23:59 (got "10pm")'],
    [daily({ daily: { count: 1 } }, { schedule: { frequency: 'daily', times: ['9:00', '09:00'] } }), 'schedule.times must be distinct (got 09:00, 09:00)'],
    [daily({ daily: { count: 0 } }), 'retention.daily.count must be a whole number from 1 to 9999 days (got 0)'],
    [daily({ daily: { count: 10000 } }), 'retention.daily.count must be a whole number from 1 to 9999 days (got 10000)'],
    [daily({ weekly: { count: 5164, weekday: 'sun' } }), 'retention.weekly.count must be a whole number from 1 to 5163 weeks (got 5164)'],
    [daily({ monthly: { count: 1189, day: 1 } }), 'retention.monthly.count must be a whole number from 1 to 1188 months (got 1189)'],
    [daily({ yearly: { count: 100, month: 1, day: 1 } }), 'retention.yearly.count must be a whole number from 1 to 99 years (got 100)'],
    [daily({ yearly: { count: -1, month: 1, day: 1 } }), 'retention.yearly.count must be a whole number from 1 to 99 years (got -1)'],
    [daily({ yearly: { count: 1, month: 13, day: 1 } }), 'retention.yearly.month must be a whole number from 1 to 12 (1 = January) (got 13)'],
    [daily({ yearly: { count: 1, month: 0, day: 1 } }), 'retention.yearly.month must be a whole number from 1 to 12 (1 = January) (got 0)'],
    [daily({ monthly: { count: 1, day: 29 } }), `retention.monthly.day must be ${DAY_FORMS}; days 29 to 31 are missing from some months, use last (got 29)`],
    [daily({ monthly: { count: 1, day: 0 } }), `retention.monthly.day must be ${DAY_FORMS}; days 29 to 31 are missing from some months, use last (got 0)`],
    [daily({ monthly: { count: 1, day: 'second-sun' } }), `retention.monthly.day must be ${DAY_FORMS} (got "second-sun")`],
    [daily({ yearly: { count: 1, month: 2, day: 'first-xyz' } }), `retention.yearly.day must be ${DAY_FORMS} (got "first-xyz")`],
    [daily({ weekly: { count: 1 } }), 'retention.weekly.weekday: a weekday is one of sun mon tue wed thu fri sat (got nothing)'],
    [daily({ weekly: { count: 1, weekday: 'sun' }, dialy: { count: 3 } }), 'retention: unknown field "dialy" (allowed: daily, weekly, monthly, yearly)'],
    [daily({}), 'retention needs at least one rule: daily, weekly, monthly or yearly'],
    [{ ...ISSUE_EXAMPLE, retention: { daily: { count: 30 } } }, 'a weekly schedule needs a weekly, monthly or yearly retention rule (the daily rule does not apply to a weekly schedule)'],
    [{ ...ISSUE_EXAMPLE, retention: { weekly: { count: 4, weekday: 'sat' } } }, "retention.weekly.weekday must be one of the schedule's weekdays (sun), else it holds no point (got sat)"],
    [{ ...ISSUE_EXAMPLE, timeZone: 'Europe/Atlantis' }, 'timeZone must be an IANA time zone such as Europe/Stockholm or UTC (got "Europe/Atlantis")'],
    [{ ...ISSUE_EXAMPLE, timeZone: 3 }, 'timeZone must be an IANA time zone such as Europe/Stockholm or UTC (got 3)'],
    [{ ...ISSUE_EXAMPLE, zone: 'UTC' }, 'online policy: unknown field "zone" (allowed: schedule, retention, timeZone)'],
    [{ retention: ISSUE_EXAMPLE.retention }, 'schedule must be a JSON object (got nothing)'],
    ['daily', 'online policy must be a JSON object (got "daily")'],
  ])('refuses %j', (input, message) => {
    expect(refusal(() => parseOnlinePolicy(input)).message).toBe(message);
  });
});
