/**
 * Retention: which recovery points to keep, and why. One pure function per
 * tier, of (points, the current policy, now): no I/O, no clock. The prune job,
 * the scheduler and `strata retention simulate` all call these.
 *
 * Each returns one decision per input point, in input order:
 * `{ time, keep, reasons }`. A point held by several rules lists every reason
 * and is kept while any rule holds it. Points after `now` are kept (`future`).
 *
 * Online tier: Azure Backup's rules. Each rule picks the points it applies to
 * and keeps each of them for N days / weeks / months / years from the moment
 * it was taken, counted on the calendar of the policy's time zone (a day
 * across a DST change is 23 or 25 hours; a month after Jan 31 ends on the last
 * of February):
 *
 * - daily N: every point, N days. Every point, not only one a day: MARS runs
 *   up to three online backups a day and each is a daily point. A weekly
 *   schedule has no daily retention (as in Azure): its daily rule holds nothing.
 * - weekly N, weekday W: the newest point of each local W-day, N weeks.
 * - monthly N, day D: the newest point on day D of its month, N months.
 *   D = 1..28, `last` (the month's last day), `first-sun` (its first Sunday),
 *   `last-fri` (its last Friday) …
 * - yearly N, month M, day D: the newest point on day D of month M, N years.
 *
 * So a daily-at-22:00 policy with daily 30 always has 30 daily points: the
 * oldest expires at 22:00 as the new one is taken. A missed backup on a rule's
 * day leaves that week or month without a point; no other point stands in.
 *
 * Reasons: a held point's reason is the rule and the period of its retention
 * it is in, counting from 1: `daily-1` (less than a day old), `daily-30` (its
 * last day), `weekly-1`, `monthly-12`, `yearly-2`. A pruned point's reasons
 * are `outside-retention` and, for each rule, why it does not hold the point:
 * `daily:older-than-30-days`, `daily:not-on-weekly-schedule`,
 * `weekly:not-a-sun`, `weekly:older-than-12-weeks`, `weekly:not-newest-of-day`,
 * `monthly:not-first-sun`, `monthly:not-day-15`, `yearly:not-jan-1` …
 *
 * Policy changes are retroactive because the function only sees the current
 * policy: raising a count extends the existing points, lowering it prunes the
 * ones now outside; a daily -> weekly change prunes the daily points no weekly,
 * monthly or yearly rule holds; weekly -> daily keeps the old weekly points
 * while the current weekly rule (or the daily rule) still holds them.
 *
 * Short-term tier (DPM): a point is kept while it is younger than the
 * retention range (`within-14-days`, else `outside-14-days`; days of 24 h) and
 * among the newest `maxPoints` (else `over-cap-64`).
 */
import { civil, daysInMonth, DAY_MS, dayNumber, elapsed, localOf, weekdayOf, zone, type Unit } from './civil.js';
import { WEEKDAYS, type DayOfMonth, type OnlinePolicySpec, type ShortTermPolicy, type Weekday } from './policy.js';

export interface RetentionDecision { time: Date; keep: boolean; reasons: string[] }

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

export function evaluateOnlineRetention(points: readonly Date[], spec: OnlinePolicySpec, now: Date): RetentionDecision[] {
  const z = zone(spec.timeZone);
  const nowMs = now.getTime();
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
    /** The period of its retention the point is in, 1 = the first. */
    const period = (unit: Unit) => elapsed(t, nowMs, unit, z) + 1;
    const held: string[] = [];
    const why: string[] = [];
    if (daily && !dailyApplies) why.push('daily:not-on-weekly-schedule');
    else if (daily) {
      const k = period('day');
      if (k <= daily.count) held.push(`daily-${k}`);
      else why.push(`daily:older-than-${daily.count}-days`);
    }
    if (weekly) {
      if (weekdayOf(day) !== WEEKDAYS.indexOf(weekly.weekday)) why.push(`weekly:not-a-${weekly.weekday}`);
      else rule('weekly', weekly.count, 'week', 'weeks');
    }
    if (monthly) {
      if (!matchesDay(day, monthly.day)) why.push(`monthly:not-${dayLabel(monthly.day)}`);
      else rule('monthly', monthly.count, 'month', 'months');
    }
    if (yearly) {
      if (civil(day).m !== yearly.month || !matchesDay(day, yearly.day)) {
        why.push(`yearly:not-${MONTHS[yearly.month - 1]}-${typeof yearly.day === 'number' ? yearly.day : dayLabel(yearly.day)}`);
      } else rule('yearly', yearly.count, 'year', 'years');
    }
    return held.length ? { time: p, keep: true, reasons: held } : { time: p, keep: false, reasons: ['outside-retention', ...why] };

    // A weekly/monthly/yearly rule, for a point on its day: the newest of the day, for `count` units.
    function rule(name: string, count: number, unit: Unit, units: string) {
      const k = period(unit);
      if (k > count) why.push(`${name}:older-than-${count}-${units}`);
      else if (!newest) why.push(`${name}:not-newest-of-day`);
      else held.push(`${name}-${k}`);
    }
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
