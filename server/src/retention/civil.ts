/**
 * Civil (wall-clock) calendar arithmetic in an IANA time zone, for the
 * schedule and the retention rules. A civil date is a day number (days since
 * 1970-01-01 on the proleptic Gregorian calendar), so "the day before" is -1
 * and weekdays are arithmetic; only the zone's UTC offset comes from luxon.
 *
 * Mapping a wall-clock time back to an instant is where daylight saving bites:
 * - a time that exists twice (fall back) has two instants; resolveLocal
 *   returns both, in order, and the caller chooses;
 * - a time that does not exist (spring forward) has none; resolveLocal
 *   returns the first instant after the gap (the moment the clocks jump),
 *   which is when a clock-watching human would say "02:30 has passed".
 */
import { IANAZone } from 'luxon';

export const DAY_MS = 86_400_000;
const MIN_MS = 60_000;

export interface Civil { y: number; m: number; d: number } // m 1..12

export const dayNumber = (y: number, m: number, d: number) => Math.floor(Date.UTC(y, m - 1, d) / DAY_MS);

export function civil(day: number): Civil {
  const t = new Date(day * DAY_MS);
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
}

/** 0 = Sunday … 6 = Saturday (1970-01-01 was a Thursday). */
export const weekdayOf = (day: number) => (((day + 4) % 7) + 7) % 7;

export const daysInMonth = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();

/** A time zone: its UTC offset in minutes at an instant. */
export interface TimeZone { readonly name: string; offset(ms: number): number }

const QUARTER_MS = 15 * MIN_MS;
const CACHE_MAX = 200_000;

/**
 * Luxon asks Intl for every offset, which is slow for a year of slots. Since
 * 1970 every zone changes offset only at a whole quarter hour of UTC (offsets
 * are multiples of 15 minutes and changes happen at whole local minutes of
 * such offsets, in practice at :00 or :30), so the offset is cached per UTC
 * quarter hour.
 */
class CachedZone implements TimeZone {
  private readonly cache = new Map<number, number>();
  constructor(private readonly z: TimeZone) {}
  get name() { return this.z.name; }
  offset(ms: number): number {
    const q = Math.floor(ms / QUARTER_MS);
    let o = this.cache.get(q);
    if (o === undefined) {
      if (this.cache.size >= CACHE_MAX) this.cache.clear();
      o = this.z.offset(q * QUARTER_MS);
      this.cache.set(q, o);
    }
    return o;
  }
}

const zones = new Map<string, TimeZone>();
export function zone(name: string): TimeZone {
  let z = zones.get(name);
  if (!z) { z = new CachedZone(IANAZone.create(name)); zones.set(name, z); }
  return z;
}

/** The zone's UTC offset at an instant, in minutes. */
const offset = (z: TimeZone, ms: number) => z.offset(ms);

/** The local day number and minute of the day of an instant. */
export function localOf(ms: number, z: TimeZone): { day: number; minute: number } {
  const local = ms + offset(z, ms) * MIN_MS;
  const day = Math.floor(local / DAY_MS);
  return { day, minute: Math.floor((local - day * DAY_MS) / MIN_MS) };
}

/**
 * The instants whose wall-clock time in the zone is `minute` of `day`: one
 * normally, two in a fall-back overlap (earlier first), and when the time is
 * skipped by a spring-forward gap, the single first instant after the gap.
 */
export function resolveLocal(day: number, minute: number, z: TimeZone): number[] {
  const naive = day * DAY_MS + minute * MIN_MS;
  // Offsets a day and a half either side cover the one transition near `naive`.
  const before = offset(z, naive - 1.5 * DAY_MS);
  const after = offset(z, naive + 1.5 * DAY_MS);
  if (before === after && offset(z, naive - before * MIN_MS) === before) return [naive - before * MIN_MS]; // the usual case: no change nearby
  const found = new Set<number>();
  for (const o of [before, offset(z, naive), after]) {
    const t = naive - o * MIN_MS;
    if (offset(z, t) === o) found.add(t);
  }
  if (found.size) return [...found].sort((a, b) => a - b);
  if (after <= before) return [naive - offset(z, naive) * MIN_MS]; // no gap found: cannot happen with real zones
  // In the gap: `lo` still has the old offset, `hi` the new; find the switch, to the minute.
  let lo = naive - after * MIN_MS;
  let hi = naive - before * MIN_MS;
  while (hi - lo > MIN_MS) {
    const mid = lo + Math.floor((hi - lo) / 2 / MIN_MS) * MIN_MS;
    if (offset(z, mid) === before) lo = mid;
    else hi = mid;
  }
  return [hi];
}

export type Unit = 'day' | 'week' | 'month' | 'year';
const APPROX_MS: Record<Unit, number> = { day: DAY_MS, week: 7 * DAY_MS, month: 30.436875 * DAY_MS, year: 365.2425 * DAY_MS };

/**
 * The instant `k` units after `ms` at the same local wall time: calendar
 * arithmetic, so a day is 23 or 25 hours across a DST change, and a month
 * after Jan 31 is the last day of February (a year after Feb 29 is Feb 28).
 */
export function plusLocal(ms: number, k: number, unit: Unit, z: TimeZone): number {
  const { day, minute } = localOf(ms, z);
  const subMinute = ((ms % MIN_MS) + MIN_MS) % MIN_MS;
  let target: number;
  if (unit === 'day' || unit === 'week') target = day + (unit === 'week' ? 7 * k : k);
  else {
    const c = civil(day);
    const months = c.y * 12 + c.m - 1 + (unit === 'month' ? k : 12 * k);
    const y = Math.floor(months / 12);
    const m = months - y * 12 + 1;
    target = dayNumber(y, m, Math.min(c.d, daysInMonth(y, m)));
  }
  return resolveLocal(target, minute, z)[0]! + subMinute;
}

/** Whole units elapsed from `from` to `to` (from <= to): the largest e with plusLocal(from, e) <= to. */
export function elapsed(from: number, to: number, unit: Unit, z: TimeZone): number {
  let e = Math.max(0, Math.floor((to - from) / APPROX_MS[unit]));
  while (e > 0 && plusLocal(from, e, unit, z) > to) e--;
  while (plusLocal(from, e + 1, unit, z) <= to) e++;
  return e;
}
