/**
 * When scheduled work is due: the slots of an online schedule and of a
 * short-term sync frequency, as instants, computed in a time zone. Pure: the
 * scheduler passes its clock's time in; node-schedule only wakes it up.
 *
 * Online slots are times of day ('22:00'), on every day (daily) or on the
 * chosen weekdays (weekly), in the policy's zone.
 *
 * Sync slots are a grid of wall-clock times aligned to local midnight: every
 * N minutes from 00:00 (1h: every full hour; 6h: 00, 06, 12, 18; 45m: 00:00,
 * 00:45, 01:30 …). Every frequency divides a day, so the grid is the same
 * every day.
 *
 * Daylight saving (both kinds of slot):
 * - A wall time skipped by spring forward (02:30 when clocks jump from 02:00
 *   to 03:00) is due at the first instant after the gap (03:00 new time). All
 *   slots in the gap fall on that one instant, so the work runs once.
 * - A wall time that occurs twice (fall back, 02:30 when clocks go from 03:00
 *   back to 02:00):
 *   - an online time of day runs once, at the first occurrence: "22:00" names
 *     a time of day, and one backup per named time is what the admin asked;
 *   - a sync slot runs at both occurrences: a sync frequency is an interval
 *     ("every 15 minutes"), and skipping the repeated hour would leave a gap
 *     of 75 minutes in the recovery points (and trip the missed-SLA alert).
 *
 * Intervals are half-open the way a scheduler consumes them: slotsBetween
 * returns the slots in (from, to], next* the first slot strictly after,
 * last* the latest slot at or before.
 */
import { localOf, resolveLocal, weekdayOf, zone, type TimeZone } from './civil.js';
import { WEEKDAYS, type OnlinePolicySpec } from './policy.js';

type Schedule = Pick<OnlinePolicySpec, 'schedule' | 'timeZone'>;

/** How far next/last look before giving up (more than a week, for weekly schedules). */
const SEARCH_DAYS = 15;

const minuteOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** The online slots that fall on one local day, ascending. */
function onlineDay(spec: Schedule, day: number, z: TimeZone): number[] {
  const { frequency, weekdays = [], times } = spec.schedule;
  if (frequency === 'weekly' && !weekdays.includes(WEEKDAYS[weekdayOf(day)]!)) return [];
  return uniqueSorted(times.map((t) => resolveLocal(day, minuteOf(t), z)[0]!));
}

/** The sync slots that fall on one local day, ascending. */
function syncDay(frequencyMinutes: number, day: number, z: TimeZone): number[] {
  const all: number[] = [];
  for (let m = 0; m < 1440; m += frequencyMinutes) all.push(...resolveLocal(day, m, z));
  return uniqueSorted(all);
}

function uniqueSorted(a: number[]): number[] {
  return [...new Set(a)].sort((x, y) => x - y);
}

function between(daySlots: (day: number) => number[], z: TimeZone, from: Date, to: Date): Date[] {
  const out: Date[] = [];
  const [f, t] = [from.getTime(), to.getTime()];
  // A day's slots can land on the neighbouring local day only through a DST gap; one day of margin covers it.
  for (let day = localOf(f, z).day - 1, last = localOf(t, z).day + 1; day <= last; day++) {
    for (const s of daySlots(day)) if (s > f && s <= t) out.push(new Date(s));
  }
  return out;
}

function next(daySlots: (day: number) => number[], z: TimeZone, after: Date): Date | null {
  const a = after.getTime();
  const start = localOf(a, z).day - 1;
  for (let day = start; day <= start + SEARCH_DAYS; day++) {
    const s = daySlots(day).find((x) => x > a);
    if (s !== undefined) return new Date(s);
  }
  return null;
}

function last(daySlots: (day: number) => number[], z: TimeZone, atOrBefore: Date): Date | null {
  const a = atOrBefore.getTime();
  const start = localOf(a, z).day + 1;
  for (let day = start; day >= start - SEARCH_DAYS; day--) {
    const s = daySlots(day).filter((x) => x <= a).pop();
    if (s !== undefined) return new Date(s);
  }
  return null;
}

// ---------------------------------------------------------------- online

/** The online slots in (from, to], ascending. */
export function onlineSlotsBetween(spec: Schedule, from: Date, to: Date): Date[] {
  const z = zone(spec.timeZone);
  return between((d) => onlineDay(spec, d, z), z, from, to);
}

/** The first online slot strictly after `after`. */
export function nextOnlineSlot(spec: Schedule, after: Date): Date {
  const z = zone(spec.timeZone);
  const s = next((d) => onlineDay(spec, d, z), z, after);
  if (!s) throw new Error(`online schedule has no slot within ${SEARCH_DAYS} days of ${after.toISOString()}`); // a parsed spec always has one a week
  return s;
}

/** The latest online slot at or before `atOrBefore` (null only for a schedule without slots). */
export function lastOnlineSlot(spec: Schedule, atOrBefore: Date): Date | null {
  const z = zone(spec.timeZone);
  return last((d) => onlineDay(spec, d, z), z, atOrBefore);
}

// ---------------------------------------------------------------- short-term sync

/** The sync slots in (from, to], ascending. */
export function syncSlotsBetween(frequencyMinutes: number, from: Date, to: Date, timeZone: string): Date[] {
  const z = zone(timeZone);
  return between((d) => syncDay(frequencyMinutes, d, z), z, from, to);
}

/** The first sync slot strictly after `after`. */
export function nextSyncSlot(frequencyMinutes: number, after: Date, timeZone: string): Date {
  const z = zone(timeZone);
  return next((d) => syncDay(frequencyMinutes, d, z), z, after)!; // every local day has slots
}

/** The latest sync slot at or before `atOrBefore`. */
export function lastSyncSlot(frequencyMinutes: number, atOrBefore: Date, timeZone: string): Date {
  const z = zone(timeZone);
  return last((d) => syncDay(frequencyMinutes, d, z), z, atOrBefore)!;
}

