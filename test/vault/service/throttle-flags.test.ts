/**
 * The admin's vault bandwidth flags (`strata server --vault-bandwidth-work /
 * --vault-bandwidth-off / --work-hours / --work-days`): parsing, refusals with
 * the allowed form, and the work-hours limit read in the server's time zone
 * rather than the process's.
 */
import { describe, expect, it } from 'vitest';
import { StrataError } from '../../../server/src/errors.js';
import { parseBandwidthFlags, parsePackSize, parseRate, parseWorkDays, parseWorkHours } from '../../../server/src/services/vault-bandwidth.js';
import { Throttle, workHoursLimit, type Clock } from '../../../server/src/vault/transfer.js';
import { strataCli } from '../../helpers/cli.js';

const K = 1024;
const M = 1024 * K;

const refused = (fn: () => unknown, message: RegExp) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StrataError);
    expect((err as StrataError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(message);
    return;
  }
  throw new Error('not refused');
};

describe('parseRate', () => {
  it.each([
    ['512K', 512 * K], ['10M', 10 * M], ['1G', 1024 * M], ['2.5M', 2.5 * M], ['65536', 65536], ['10m', 10 * M], ['8MiB/s', 8 * M], ['1K', K],
  ])('%s is %d bytes per second', (s, n) => expect(parseRate('--x', s)).toBe(n));

  it('0 is unlimited', () => {
    expect(parseRate('--x', '0')).toBeNull();
    expect(parseRate('--x', '0M')).toBeNull();
  });

  it.each(['', 'fast', '10X', '-1M', '1T', '10 Mbit', '512'])('refuses %j naming the flag and the form', (s) => {
    refused(() => parseRate('--vault-bandwidth-work', s), /--vault-bandwidth-work must be .*(512K|1K)/);
  });
});

describe('parseWorkHours and parseWorkDays', () => {
  it('reads HH-HH', () => {
    expect(parseWorkHours('08-18')).toEqual({ from: 8, to: 18 });
    expect(parseWorkHours('0-24')).toEqual({ from: 0, to: 24 });
    expect(parseWorkHours('07:00-19:00')).toEqual({ from: 7, to: 19 });
  });

  it.each(['18-08', '8', '08-25', '24-24', '10-10', 'nine-five'])('refuses %j', (s) => refused(() => parseWorkHours(s), /--work-hours must be HH-HH/));

  it('reads ranges and lists of days (0 = Sunday)', () => {
    expect(parseWorkDays('mon-fri')).toEqual([1, 2, 3, 4, 5]);
    expect(parseWorkDays('mon,tue,thu')).toEqual([1, 2, 4]);
    expect(parseWorkDays('Sat-Sun')).toEqual([0, 6]);
    expect(parseWorkDays('fri-mon')).toEqual([0, 1, 5, 6]);
    expect(parseWorkDays('mon-wed, fri')).toEqual([1, 2, 3, 5]);
  });

  it.each(['', 'monday', 'mon-', 'mon;tue', 'xyz'])('refuses %j', (s) => refused(() => parseWorkDays(s), /--work-days must be days/));
});

describe('parseBandwidthFlags', () => {
  it('no rate: no throttle at all', () => {
    expect(parseBandwidthFlags({})).toBeUndefined();
    expect(parseBandwidthFlags({ vaultBandwidthWork: '0', vaultBandwidthOff: '0' })).toBeUndefined();
  });

  it('a rate with the defaults (08-18, mon-fri)', () => {
    expect(parseBandwidthFlags({ vaultBandwidthWork: '512K' })).toEqual({ workHours: 512 * K, offHours: null, from: 8, to: 18, days: [1, 2, 3, 4, 5] });
    expect(parseBandwidthFlags({ vaultBandwidthWork: '1M', vaultBandwidthOff: '10M', workHours: '09-17', workDays: 'mon,wed' }))
      .toEqual({ workHours: M, offHours: 10 * M, from: 9, to: 17, days: [1, 3] });
  });

  it('a bad work-hours value is refused even without a rate', () => {
    refused(() => parseBandwidthFlags({ workHours: '25-26' }), /--work-hours/);
  });

  it('parsePackSize takes 1M to 256M', () => {
    expect(parsePackSize('4M')).toBe(4 * M);
    expect(parsePackSize('1024K')).toBe(M);
    for (const s of ['512K', '1G', 'big', '0']) refused(() => parsePackSize(s), /--vault-pack-size must be a size from 1M to 256M/);
  });
});

describe('workHoursLimit reads the day and hour in the server zone', () => {
  const b = { workHours: M, offHours: 8 * M, from: 8, to: 18, days: [1, 2, 3, 4, 5] };

  it('in UTC', () => {
    const at = workHoursLimit({ ...b, timeZone: 'UTC' });
    expect(at(new Date('2026-06-01T07:59:59Z'))).toBe(8 * M); // Monday, before 08:00
    expect(at(new Date('2026-06-01T08:00:00Z'))).toBe(M);
    expect(at(new Date('2026-06-01T17:59:59Z'))).toBe(M);
    expect(at(new Date('2026-06-01T18:00:00Z'))).toBe(8 * M);
    expect(at(new Date('2026-06-06T12:00:00Z'))).toBe(8 * M); // Saturday
  });

  it('in Asia/Tokyo (UTC+9): Monday 06:00 UTC is 15:00 there, Friday 23:00 UTC is already Saturday', () => {
    const at = workHoursLimit({ ...b, timeZone: 'Asia/Tokyo' });
    expect(at(new Date('2026-06-01T06:00:00Z'))).toBe(M);
    expect(at(new Date('2026-06-01T10:00:00Z'))).toBe(8 * M); // 19:00 in Tokyo
    expect(at(new Date('2026-05-31T23:30:00Z'))).toBe(M); // Monday 08:30 in Tokyo, still Sunday in UTC
    expect(at(new Date('2026-06-05T23:00:00Z'))).toBe(8 * M); // Saturday 08:00 in Tokyo
  });

  it('in America/New_York across the DST change (work hours stay 08-18 local)', () => {
    const at = workHoursLimit({ ...b, timeZone: 'America/New_York' });
    // Friday 6 March 2026 (EST, UTC-5): 08:00 local = 13:00 UTC.
    expect(at(new Date('2026-03-06T12:59:00Z'))).toBe(8 * M);
    expect(at(new Date('2026-03-06T13:00:00Z'))).toBe(M);
    // Monday 9 March 2026 (EDT, UTC-4): 08:00 local = 12:00 UTC.
    expect(at(new Date('2026-03-09T11:59:00Z'))).toBe(8 * M);
    expect(at(new Date('2026-03-09T12:00:00Z'))).toBe(M);
  });

  it('unlimited off hours: the throttle lets requests through without waiting', async () => {
    const slept: number[] = [];
    let now = Date.parse('2026-06-06T12:00:00Z'); // Saturday
    const clock: Clock = { now: () => now, sleep: async (ms) => { slept.push(ms); now += ms; } };
    const t = new Throttle(workHoursLimit({ ...b, offHours: null, timeZone: 'UTC' }), clock);
    await t.take(4 * M);
    await t.take(4 * M);
    expect(slept).toEqual([]);
    now = Date.parse('2026-06-08T09:00:00Z'); // Monday 09:00: 1 MiB/s
    await t.take(4 * M);
    await t.take(4 * M);
    expect(slept).toEqual([4000]);
  });
});

describe('strata server refuses a bad bandwidth flag before it starts', () => {
  it('exits 2 with the allowed form', async () => {
    const r = await strataCli(['server', '--data', '/nonexistent/never-created', '--listen', '127.0.0.1:0', '--vault-bandwidth-work', '10X']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--vault-bandwidth-work must be a rate in bytes per second such as 512K, 10M or 1G/);
  }, 30_000);
});
