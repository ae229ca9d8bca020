/**
 * The two policies of a protection group, as plain data, and their parsers.
 *
 * - Short-term policy (server disk, DPM's rules): a sync frequency from DPM's
 *   list, a retention range of 1..448 days and a cap on the points per data
 *   source (64 by default, DPM's limit, which an admin may raise).
 * - Online policy (vault tier, Azure Backup / MARS rules): a daily or weekly
 *   schedule at 1..3 times of day, and GFS retention rules (daily, weekly,
 *   monthly, yearly) evaluated in the policy's time zone.
 *
 * The parsers take untrusted JSON (REST body, CLI file) and either return a
 * normalized policy or throw StrataError invalid(...) whose message names the
 * field and the allowed range, so the admin can fix it without the docs. A
 * parsed OnlinePolicySpec is itself valid input: JSON.stringify(spec) parses
 * back to the same spec (the catalog stores it that way).
 */
import { IANAZone } from 'luxon';
import { invalid } from '../errors.js';

// ---------------------------------------------------------------- short-term

/** DPM's synchronization frequencies, in minutes. Each divides a day. */
export const SYNC_FREQUENCIES_MINUTES = [15, 30, 45, 60, 120, 240, 360, 720, 1440] as const;
export const RETENTION_DAYS_MIN = 1;
export const RETENTION_DAYS_MAX = 448;
export const DEFAULT_MAX_POINTS = 64;
export const MAX_POINTS_MAX = 9999;

export interface ShortTermPolicy {
  syncFrequencyMinutes: number; // one of SYNC_FREQUENCIES_MINUTES
  retentionDays: number;        // 1..448
  maxPoints: number;            // per data source, default 64, 1..9999
}

/** '15m', '1h', '24h' (the CLI's form) for a frequency in minutes. */
export function formatFrequency(minutes: number): string {
  return minutes % 60 === 0 ? `${minutes / 60}h` : `${minutes}m`;
}

const FREQUENCY_CHOICES = SYNC_FREQUENCIES_MINUTES.map(formatFrequency).join(', ');

/** A sync frequency given as '15m', '1h', '24h', '1d' or a number of minutes. */
export function parseSyncFrequency(input: unknown): number {
  let minutes: number | null = null;
  if (typeof input === 'number' && Number.isInteger(input)) minutes = input;
  else if (typeof input === 'string') {
    const m = /^\s*(\d+)\s*(m|min|h|d)?\s*$/i.exec(input);
    if (m) minutes = Number(m[1]) * ({ m: 1, min: 1, h: 60, d: 1440 }[(m[2] ?? 'm').toLowerCase()] ?? 1);
  }
  if (minutes === null || !(SYNC_FREQUENCIES_MINUTES as readonly number[]).includes(minutes)) {
    const got = typeof input === 'string' ? input : typeof input === 'number' ? `${input}m` : show(input);
    throw invalid(`sync frequency must be one of ${FREQUENCY_CHOICES} (got ${got})`);
  }
  return minutes;
}

/**
 * `{ syncFrequency: '15m' | '1h' | 15, retentionDays, maxPoints? }`; the stored
 * form's `syncFrequencyMinutes` is accepted too, so a ShortTermPolicy re-parses.
 */
export function parseShortTermPolicy(input: unknown): ShortTermPolicy {
  const o = object(input, 'short-term policy');
  onlyKeys(o, 'short-term policy', ['syncFrequency', 'syncFrequencyMinutes', 'retentionDays', 'maxPoints']);
  const freq = o.syncFrequency ?? o.syncFrequencyMinutes;
  if (freq === undefined) throw invalid(`short-term policy needs syncFrequency, one of ${FREQUENCY_CHOICES}`);
  return {
    syncFrequencyMinutes: parseSyncFrequency(freq),
    retentionDays: integer(o.retentionDays, 'retention range (retentionDays)', RETENTION_DAYS_MIN, RETENTION_DAYS_MAX, 'days'),
    maxPoints: o.maxPoints === undefined ? DEFAULT_MAX_POINTS : integer(o.maxPoints, 'maxPoints (recovery points per data source)', 1, MAX_POINTS_MAX, 'points'),
  };
}

// ---------------------------------------------------------------- online

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** A day of a month: 1..28 (every month has it), the last day, or the first / last given weekday. */
export type DayOfMonth = number | 'last' | `first-${Weekday}` | `last-${Weekday}`;

export interface OnlineSchedule {
  frequency: 'daily' | 'weekly';
  weekdays?: Weekday[];  // weekly only (present iff weekly), distinct, in week order
  times: string[];       // 1..3 distinct 'HH:MM', ascending
}
export interface DailyRule { count: number }                               // days
export interface WeeklyRule { count: number; weekday: Weekday }            // weeks
export interface MonthlyRule { count: number; day: DayOfMonth }            // months
export interface YearlyRule { count: number; month: number; day: DayOfMonth } // years
export interface OnlineRetention { daily?: DailyRule; weekly?: WeeklyRule; monthly?: MonthlyRule; yearly?: YearlyRule }
export interface OnlinePolicySpec { schedule: OnlineSchedule; retention: OnlineRetention; timeZone: string }

/** Azure Backup's maxima for each rule's count. */
export const RULE_COUNT_MAX = { daily: 9999, weekly: 5163, monthly: 1188, yearly: 99 } as const;
const RULE_UNIT = { daily: 'days', weekly: 'weeks', monthly: 'months', yearly: 'years' } as const;
export const MAX_TIMES_PER_DAY = 3;

/** The policy created with every vault (`DefaultPolicy`): daily at 22:00, daily points kept 30 days. */
export function defaultOnlinePolicy(timeZone = 'UTC'): OnlinePolicySpec {
  return { schedule: { frequency: 'daily', times: ['22:00'] }, retention: { daily: { count: 30 } }, timeZone };
}
export const DEFAULT_ONLINE_POLICY: OnlinePolicySpec = defaultOnlinePolicy();
export const DEFAULT_ONLINE_POLICY_NAME = 'DefaultPolicy';

/**
 * Validates an online policy in its JSON form (see docs/protection.md). The
 * time zone defaults to `defaultTimeZone` (the server's), else UTC.
 */
export function parseOnlinePolicy(input: unknown, defaultTimeZone?: string): OnlinePolicySpec {
  const o = object(input, 'online policy');
  onlyKeys(o, 'online policy', ['schedule', 'retention', 'timeZone']);
  const schedule = parseSchedule(o.schedule);
  const retention = parseRetention(o.retention, schedule);
  const timeZone = parseTimeZone(o.timeZone ?? defaultTimeZone ?? 'UTC');
  return { schedule, retention, timeZone };
}

export function parseTimeZone(input: unknown): string {
  if (typeof input !== 'string' || !IANAZone.isValidZone(input)) {
    throw invalid(`timeZone must be an IANA time zone such as Europe/Stockholm or UTC (got ${show(input)})`);
  }
  return input;
}

function parseSchedule(input: unknown): OnlineSchedule {
  const o = object(input, 'schedule');
  onlyKeys(o, 'schedule', ['frequency', 'weekdays', 'times']);
  if (o.frequency !== 'daily' && o.frequency !== 'weekly') {
    throw invalid(`schedule.frequency must be daily or weekly (got ${show(o.frequency)})`);
  }
  const times = parseTimes(o.times);
  if (o.frequency === 'daily') {
    if (o.weekdays !== undefined && !(Array.isArray(o.weekdays) && o.weekdays.length === 0)) {
      throw invalid('schedule.weekdays applies only to a weekly schedule (a daily schedule runs every day)');
    }
    return { frequency: 'daily', times };
  }
  if (!Array.isArray(o.weekdays) || o.weekdays.length === 0) {
    throw invalid(`a weekly schedule needs schedule.weekdays, a list from ${WEEKDAYS.join(' ')}`);
  }
  const days = o.weekdays.map((d) => weekday(d, 'schedule.weekdays'));
  if (new Set(days).size !== days.length) throw invalid(`schedule.weekdays must be distinct (got ${days.join(' ')})`);
  return { frequency: 'weekly', weekdays: WEEKDAYS.filter((d) => days.includes(d)), times };
}

function parseTimes(input: unknown): string[] {
  if (!Array.isArray(input) || input.length < 1 || input.length > MAX_TIMES_PER_DAY) {
    throw invalid(`schedule.times must list 1 to ${MAX_TIMES_PER_DAY} times of day as HH:MM (got ${show(input)})`);
  }
  const times = input.map((t) => {
    const m = typeof t === 'string' ? /^(\d{1,2}):(\d{2})$/.exec(t.trim()) : null;
    if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) {
      throw invalid(`schedule.times: each time is HH:MM from 00:00 to 23:59 (got ${show(t)})`);
    }
    return `${m[1]!.padStart(2, '0')}:${m[2]}`;
  });
  if (new Set(times).size !== times.length) throw invalid(`schedule.times must be distinct (got ${times.join(', ')})`);
  return times.sort();
}

function parseRetention(input: unknown, schedule: OnlineSchedule): OnlineRetention {
  const o = object(input, 'retention');
  onlyKeys(o, 'retention', ['daily', 'weekly', 'monthly', 'yearly']);
  const r: OnlineRetention = {};
  if (o.daily !== undefined) {
    const d = object(o.daily, 'retention.daily');
    onlyKeys(d, 'retention.daily', ['count']);
    r.daily = { count: count(d.count, 'daily') };
  }
  if (o.weekly !== undefined) {
    const w = object(o.weekly, 'retention.weekly');
    onlyKeys(w, 'retention.weekly', ['count', 'weekday']);
    r.weekly = { count: count(w.count, 'weekly'), weekday: weekday(w.weekday, 'retention.weekly.weekday') };
    if (schedule.weekdays && !schedule.weekdays.includes(r.weekly.weekday)) {
      throw invalid(`retention.weekly.weekday must be one of the schedule's weekdays (${schedule.weekdays.join(' ')}), else it holds no point (got ${r.weekly.weekday})`);
    }
  }
  if (o.monthly !== undefined) {
    const m = object(o.monthly, 'retention.monthly');
    onlyKeys(m, 'retention.monthly', ['count', 'day']);
    r.monthly = { count: count(m.count, 'monthly'), day: dayOfMonth(m.day, 'retention.monthly.day') };
  }
  if (o.yearly !== undefined) {
    const y = object(o.yearly, 'retention.yearly');
    onlyKeys(y, 'retention.yearly', ['count', 'month', 'day']);
    r.yearly = {
      count: count(y.count, 'yearly'),
      month: integer(y.month, 'retention.yearly.month', 1, 12, '(1 = January)'),
      day: dayOfMonth(y.day, 'retention.yearly.day'),
    };
  }
  // Azure: a weekly schedule has no daily retention, so its daily rule holds
  // nothing; a weekly policy with only a daily rule would prune every point.
  const holding = (['daily', 'weekly', 'monthly', 'yearly'] as const).filter((k) => r[k] && !(k === 'daily' && schedule.frequency === 'weekly'));
  if (holding.length === 0) {
    throw invalid(schedule.frequency === 'weekly'
      ? 'a weekly schedule needs a weekly, monthly or yearly retention rule (the daily rule does not apply to a weekly schedule)'
      : 'retention needs at least one rule: daily, weekly, monthly or yearly');
  }
  return r;
}

function count(input: unknown, rule: keyof typeof RULE_COUNT_MAX): number {
  return integer(input, `retention.${rule}.count`, 1, RULE_COUNT_MAX[rule], RULE_UNIT[rule]);
}

function weekday(input: unknown, field: string): Weekday {
  const s = typeof input === 'string' ? input.trim().toLowerCase() : '';
  const d = WEEKDAYS.find((w) => w === s || WEEKDAY_NAMES[w] === s);
  if (!d) throw invalid(`${field}: a weekday is one of ${WEEKDAYS.join(' ')} (got ${show(input)})`);
  return d;
}
const WEEKDAY_NAMES: Record<Weekday, string> = { sun: 'sunday', mon: 'monday', tue: 'tuesday', wed: 'wednesday', thu: 'thursday', fri: 'friday', sat: 'saturday' };

/** Parses a DayOfMonth: 1..28, 'last', 'first-<wd>' or 'last-<wd>'. */
export function parseDayOfMonth(input: unknown, field = 'day'): DayOfMonth {
  return dayOfMonth(input, field);
}

function dayOfMonth(input: unknown, field: string): DayOfMonth {
  const allowed = `1 to 28, last, first-<weekday> or last-<weekday> (weekday ${WEEKDAYS.join(' ')})`;
  if (typeof input === 'number' || (typeof input === 'string' && /^\s*\d+\s*$/.test(input))) {
    const n = Number(input);
    if (Number.isInteger(n) && n >= 1 && n <= 28) return n;
    throw invalid(`${field} must be ${allowed}; days 29 to 31 are missing from some months, use last (got ${show(input)})`);
  }
  const s = typeof input === 'string' ? input.trim().toLowerCase() : '';
  if (s === 'last') return 'last';
  const m = /^(first|last)-([a-z]+)$/.exec(s);
  const wd = m ? WEEKDAYS.find((w) => w === m[2] || WEEKDAY_NAMES[w] === m[2]) : undefined;
  if (!m || !wd) throw invalid(`${field} must be ${allowed} (got ${show(input)})`);
  return `${m[1] as 'first' | 'last'}-${wd}`;
}

// ---------------------------------------------------------------- helpers

/** A refused value as the message shows it: JSON, cut short (a whole file may have been passed). */
function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? s.slice(0, 77) + '...' : s;
}

function object(input: unknown, what: string): Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalid(`${what} must be a JSON object (got ${show(input)})`);
  }
  return input as Record<string, unknown>;
}

/** Unknown keys are refused: a misspelled rule ('dialy') must not silently keep nothing. */
function onlyKeys(o: Record<string, unknown>, what: string, keys: string[]) {
  const extra = Object.keys(o).filter((k) => !keys.includes(k));
  if (extra.length) throw invalid(`${what}: unknown field ${extra.map((k) => JSON.stringify(k)).join(', ')} (allowed: ${keys.join(', ')})`);
}

function integer(input: unknown, field: string, min: number, max: number, unit: string): number {
  const n = typeof input === 'string' && /^\s*-?\d+\s*$/.test(input) ? Number(input) : input;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw invalid(`${field} must be a whole number from ${min} to ${max} ${unit} (got ${show(input)})`);
  }
  return n;
}
