/**
 * Retention: which recovery points to keep, and why. One pure function per
 * tier, of (points, the current policy, now): no I/O, no clock. The prune job,
 * the scheduler and `strata retention simulate` all call these.
 *
 * Each returns one decision per input point, in input order:
 * `{ time, keep, reasons }`. A point held by several rules lists every reason
 * and is kept while any rule holds it. Points after `now` are kept (`future`).
 *
 * Online tier (Azure Backup's GFS rules), in the policy's time zone. "Today"
 * is now's local date. Each rule counts back over *occurrences* of its day,
 * newest first, the most recent occurrence on or before today being number 1:
 *
 * - daily N: every point of the last N days (today is daily-1, yesterday
 *   daily-2 …). Every point of the day, not only the newest: MARS runs up to
 *   three online backups a day and each is a daily point. A weekly schedule
 *   has no daily retention (as in Azure): its daily rule holds nothing.
 * - weekly N, weekday W: the newest point of each of the last N W-days
 *   (weekly-1 = the most recent W on or before today).
 * - monthly N, day D: the newest point of each of the last N occurrences of D
 *   (D = 1..28, `last` = the month's last day, `first-sun` = its first Sunday,
 *   `last-fri` = its last Friday …), one occurrence a month.
 * - yearly N, month M, day D: the same, one occurrence (day D of month M) a year.
 *
 * Counting occurrences (not "periods since today") keeps exactly N weekly
 * points after the weekday's backup, and a point on its day is never one
 * period short because the current week or month has just begun. A missed
 * backup on the rule's day leaves that occurrence empty; no other point stands
 * in for it (Azure does the same).
 *
 * A pruned point's reasons are `outside-retention` and, for each rule, why it
 * does not hold the point: `daily:older-than-30-days`,
 * `daily:not-on-weekly-schedule`, `weekly:not-a-sun`,
 * `weekly:older-than-12-weeks`, `weekly:not-newest-of-day`,
 * `monthly:not-first-sun`, `monthly:not-day-15`, `yearly:not-jan-1` …
 *
 * Policy changes are retroactive because the function only sees the current
 * policy: raising a count extends the existing points, lowering it prunes the
 * ones now outside; a daily → weekly change prunes the daily points no weekly,
 * monthly or yearly rule holds; weekly → daily keeps the old weekly points
 * while the current weekly rule (or the daily window) still holds them.
 *
 * Short-term tier (DPM): a point is kept while it is younger than the
 * retention range (`within-14-days`, else `outside-14-days`; days of 24 h) and
 * among the newest `maxPoints` (else `over-cap-64`).
 */
import { civil, daysInMonth, DAY_MS, dayNumber, localOf, weekdayOf, zone, type Civil } from './civil.js';
import { WEEKDAYS, type DayOfMonth, type OnlinePolicySpec, type ShortTermPolicy, type Weekday } from './policy.js';

export interface RetentionDecision { time: Date; keep: boolean; reasons: string[] }

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

export function evaluateOnlineRetention(points: readonly Date[], spec: OnlinePolicySpec, now: Date): RetentionDecision[] {
  const z = zone(spec.timeZone);
  const nowMs = now.getTime();
  const today = localOf(nowMs, z).day;
  const dayOf = points.map((p) => localOf(p.getTime(), z).day);
  // The newest (past) point of each local day: the one a weekly/monthly/yearly rule holds.
  const newestOfDay = new Map<number, number>();
  points.forEach((p, i) => {
    const t = p.getTime();
    if (t <= nowMs && t > (newestOfDay.get(dayOf[i]!) ?? -Infinity)) newestOfDay.set(dayOf[i]!, t);
  });
  const { daily, weekly, monthly, yearly } = spec.retention;
  const dailyApplies = spec.schedule.frequency === 'daily';

  return points.map((p, i) => {
    const t = p.getTime();
    if (t > nowMs) return { time: p, keep: true, reasons: ['future'] };
    const day = dayOf[i]!;
    const newest = newestOfDay.get(day) === t;
    const held: string[] = [];
    const why: string[] = [];
    if (daily) {
      const k = today - day + 1;
      if (!dailyApplies) why.push('daily:not-on-weekly-schedule');
      else if (k <= daily.count) held.push(`daily-${k}`);
      else why.push(`daily:older-than-${daily.count}-days`);
    }
    if (weekly) {
      const wd = WEEKDAYS.indexOf(weekly.weekday);
      const k = (today - ((weekdayOf(today) - wd + 7) % 7) - day) / 7 + 1;
      if (weekdayOf(day) !== wd) why.push(`weekly:not-a-${weekly.weekday}`);
      else if (k > weekly.count) why.push(`weekly:older-than-${weekly.count}-weeks`);
      else if (!newest) why.push('weekly:not-newest-of-day');
      else held.push(`weekly-${k}`);
    }
    if (monthly) {
      const c = civil(day);
      const k = monthIndex(latestMonthly(today, monthly.day)) - monthIndex(c) + 1;
      if (!matchesDay(day, monthly.day)) why.push(`monthly:not-${dayLabel(monthly.day)}`);
      else if (k > monthly.count) why.push(`monthly:older-than-${monthly.count}-months`);
      else if (!newest) why.push('monthly:not-newest-of-day');
      else held.push(`monthly-${k}`);
    }
    if (yearly) {
      const c = civil(day);
      const k = latestYearly(today, yearly.month, yearly.day) - c.y + 1;
      if (c.m !== yearly.month || !matchesDay(day, yearly.day)) why.push(`yearly:not-${MONTHS[yearly.month - 1]}-${typeof yearly.day === 'number' ? yearly.day : dayLabel(yearly.day)}`);
      else if (k > yearly.count) why.push(`yearly:older-than-${yearly.count}-years`);
      else if (!newest) why.push('yearly:not-newest-of-day');
      else held.push(`yearly-${k}`);
    }
    return held.length ? { time: p, keep: true, reasons: held } : { time: p, keep: false, reasons: ['outside-retention', ...why] };
  });
}

export function evaluateShortTermRetention(points: readonly Date[], policy: ShortTermPolicy, now: Date): RetentionDecision[] {
  const nowMs = now.getTime();
  const horizon = nowMs - policy.retentionDays * DAY_MS;
  // Rank past points newest first; equal times keep input order, so the cap is deterministic.
  const past = points.map((p, i) => ({ t: p.getTime(), i })).filter((x) => x.t <= nowMs).sort((a, b) => b.t - a.t || a.i - b.i);
  const rank = new Map(past.map((x, r) => [x.i, r + 1]));
  const within = `within-${policy.retentionDays}-days`;
  return points.map((p, i) => {
    const t = p.getTime();
    if (t > nowMs) return { time: p, keep: true, reasons: ['future'] };
    const young = t > horizon;
    const capped = rank.get(i)! > policy.maxPoints;
    const reasons = [young ? within : `outside-${policy.retentionDays}-days`];
    if (capped) reasons.push(`over-cap-${policy.maxPoints}`);
    return { time: p, keep: young && !capped, reasons };
  });
}

// ---------------------------------------------------------------- days of a month

/** 'day-1', 'last-day', 'first-sun': for the reasons of a pruned point. */
const dayLabel = (spec: DayOfMonth) => (typeof spec === 'number' ? `day-${spec}` : spec === 'last' ? 'last-day' : spec);

const monthIndex = (c: Civil) => c.y * 12 + c.m - 1;

/** The day number of `spec`'s occurrence in month m of year y (every spec occurs once a month). */
export function occurrence(y: number, m: number, spec: DayOfMonth): number {
  const dim = daysInMonth(y, m);
  if (typeof spec === 'number') return dayNumber(y, m, spec);
  if (spec === 'last') return dayNumber(y, m, dim);
  const [which, wdName] = spec.split('-') as ['first' | 'last', Weekday];
  const wd = WEEKDAYS.indexOf(wdName);
  if (which === 'first') {
    const first = dayNumber(y, m, 1);
    return first + ((wd - weekdayOf(first) + 7) % 7);
  }
  const end = dayNumber(y, m, dim);
  return end - ((weekdayOf(end) - wd + 7) % 7);
}

function matchesDay(day: number, spec: DayOfMonth): boolean {
  const c = civil(day);
  return occurrence(c.y, c.m, spec) === day;
}

/** The month of the latest occurrence of `spec` on or before `today`. */
function latestMonthly(today: number, spec: DayOfMonth): Civil {
  const c = civil(today);
  if (occurrence(c.y, c.m, spec) <= today) return c;
  return c.m === 1 ? { y: c.y - 1, m: 12, d: 1 } : { y: c.y, m: c.m - 1, d: 1 };
}

/** The year of the latest occurrence of (month, spec) on or before `today`. */
function latestYearly(today: number, month: number, spec: DayOfMonth): number {
  const { y } = civil(today);
  return occurrence(y, month, spec) <= today ? y : y - 1;
}
