import { describe, expect, it } from 'vitest';
import { parseOnlinePolicy } from '../../server/src/retention/policy.js';
import {
  lastOnlineSlot, lastSyncSlot, nextOnlineSlot, nextSyncSlot, onlineSlotsBetween, syncSlotsBetween,
} from '../../server/src/retention/schedule.js';

const iso = (a: Array<Date | null>) => a.map((d) => d?.toISOString() ?? null);
const online = (times: string[], timeZone: string, weekdays?: string[]) => parseOnlinePolicy({
  schedule: weekdays ? { frequency: 'weekly', weekdays, times } : { frequency: 'daily', times },
  retention: weekdays ? { weekly: { count: 4, weekday: weekdays[0] } } : { daily: { count: 7 } },
  timeZone,
});

// 2026 transitions:
//   Europe/Stockholm  spring Mar 29 02:00 CET -> 03:00 CEST (01:00Z); fall Oct 25 03:00 CEST -> 02:00 CET (01:00Z)
//   America/New_York  spring Mar  8 02:00 EST -> 03:00 EDT (07:00Z); fall Nov  1 02:00 EDT -> 01:00 EST (06:00Z)
describe('online slots across daylight saving', () => {
  it.each<[string, string, string, string, string, string[]]>([
    ['Stockholm spring: 02:30 does not exist, runs once at 03:00', 'Europe/Stockholm', '02:30', '2026-03-27T12:00:00Z', '2026-03-30T12:00:00Z',
      ['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']],
    ['Stockholm fall: 02:30 happens twice, runs once, at the first', 'Europe/Stockholm', '02:30', '2026-10-23T12:00:00Z', '2026-10-26T12:00:00Z',
      ['2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']],
    ['Stockholm 22:00 stays 22:00 local through the change', 'Europe/Stockholm', '22:00', '2026-03-28T00:00:00Z', '2026-03-30T00:00:00Z',
      ['2026-03-28T21:00:00.000Z', '2026-03-29T20:00:00.000Z']],
    ['New York spring: 02:30 does not exist, runs once at 03:00 EDT', 'America/New_York', '02:30', '2026-03-06T12:00:00Z', '2026-03-09T12:00:00Z',
      ['2026-03-07T07:30:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z']],
    ['New York fall: 01:30 happens twice, runs once, at the first (EDT)', 'America/New_York', '01:30', '2026-10-30T12:00:00Z', '2026-11-02T12:00:00Z',
      ['2026-10-31T05:30:00.000Z', '2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']],
  ])('%s', (_n, zone, time, from, to, expected) => {
    expect(iso(onlineSlotsBetween(online([time], zone), new Date(from), new Date(to)))).toEqual(expected);
  });

  it('a year of a daily schedule has one slot a day, DST or not, in both zones', () => {
    for (const zone of ['Europe/Stockholm', 'America/New_York']) {
      for (const time of ['00:00', '01:30', '02:30', '22:00']) {
        const slots = onlineSlotsBetween(online([time], zone), new Date('2026-01-01T12:00:00Z'), new Date('2027-01-01T12:00:00Z'));
        expect(slots, `${zone} ${time}`).toHaveLength(365);
      }
    }
  });

  it('next and last: strictly after, at or before; weekly skips to the chosen weekdays, times in order', () => {
    const spec = online(['22:00', '08:00'], 'Europe/Stockholm', ['fri', 'mon']);
    const fri8 = new Date('2026-03-13T07:00:00Z'); // Friday 08:00 CET
    expect(iso([nextOnlineSlot(spec, fri8), lastOnlineSlot(spec, fri8)])).toEqual(['2026-03-13T21:00:00.000Z', '2026-03-13T07:00:00.000Z']);
    expect(nextOnlineSlot(spec, new Date('2026-03-13T21:00:00Z')).toISOString()).toBe('2026-03-16T07:00:00.000Z'); // Monday 08:00
    expect(lastOnlineSlot(spec, new Date('2026-03-16T06:59:59Z'))!.toISOString()).toBe('2026-03-13T21:00:00.000Z');
    // Walking next() from slot to slot gives exactly slotsBetween.
    const all = onlineSlotsBetween(spec, new Date('2026-03-01T00:00:00Z'), new Date('2026-05-01T00:00:00Z'));
    expect(all).toHaveLength(34); // 17 Mondays and Fridays x 2 times
    for (let i = 0; i + 1 < all.length; i++) expect(nextOnlineSlot(spec, all[i]!)).toEqual(all[i + 1]);
  });
});

describe('sync slots across daylight saving', () => {
  it.each<[string, number, string, string, string, string[]]>([
    ['Stockholm spring, 15m: 02:00-02:45 do not exist, one run at 03:00', 15, 'Europe/Stockholm', '2026-03-29T00:30:00Z', '2026-03-29T01:30:00Z',
      ['2026-03-29T00:45:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-29T01:15:00.000Z', '2026-03-29T01:30:00.000Z']],
    ['Stockholm fall, 1h: 02:00 runs at both occurrences, an hour apart', 60, 'Europe/Stockholm', '2026-10-24T22:30:00Z', '2026-10-25T02:30:00Z',
      ['2026-10-24T23:00:00.000Z', '2026-10-25T00:00:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T02:00:00.000Z']],
    ['New York spring, 1h: 02:00 does not exist; 01:00 EST, 03:00 EDT, 04:00 EDT', 60, 'America/New_York', '2026-03-08T05:30:00Z', '2026-03-08T08:00:00Z',
      ['2026-03-08T06:00:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-08T08:00:00.000Z']],
    ['New York fall, 30m: every 30 minutes through the repeated hour', 30, 'America/New_York', '2026-11-01T04:45:00Z', '2026-11-01T07:00:00Z',
      ['2026-11-01T05:00:00.000Z', '2026-11-01T05:30:00.000Z', '2026-11-01T06:00:00.000Z', '2026-11-01T06:30:00.000Z', '2026-11-01T07:00:00.000Z']],
    ['6h is 00, 06, 12, 18 local (EDT)', 360, 'America/New_York', '2026-07-01T00:00:00Z', '2026-07-02T00:00:00Z',
      ['2026-07-01T04:00:00.000Z', '2026-07-01T10:00:00.000Z', '2026-07-01T16:00:00.000Z', '2026-07-01T22:00:00.000Z']],
    ['45m restarts at local midnight', 45, 'UTC', '2026-07-01T22:00:00Z', '2026-07-02T01:00:00Z',
      ['2026-07-01T22:30:00.000Z', '2026-07-01T23:15:00.000Z', '2026-07-02T00:00:00.000Z', '2026-07-02T00:45:00.000Z']],
    ['24h is local midnight', 1440, 'Europe/Stockholm', '2026-03-28T00:00:00Z', '2026-03-31T00:00:00Z',
      ['2026-03-28T23:00:00.000Z', '2026-03-29T22:00:00.000Z', '2026-03-30T22:00:00.000Z']],
  ])('%s', (_n, freq, zone, from, to, expected) => {
    expect(iso(syncSlotsBetween(freq, new Date(from), new Date(to), zone))).toEqual(expected);
  });

  it('a year of 15-minute syncs: 96 a day, exactly 15 real minutes apart all year (the wall-clock gap and overlap cancel)', () => {
    for (const zone of ['Europe/Stockholm', 'America/New_York']) {
      const slots = syncSlotsBetween(15, new Date('2026-01-01T12:00:00Z'), new Date('2027-01-01T12:00:00Z'), zone);
      expect(slots, zone).toHaveLength(365 * 96);
      const gaps = new Set(slots.slice(1).map((s, i) => (s.getTime() - slots[i]!.getTime()) / 60_000));
      expect([...gaps], zone).toEqual([15]);
    }
  });

  it('next and last agree with slotsBetween, across both transitions', () => {
    for (const [zone, from] of [['Europe/Stockholm', '2026-03-28T12:00:00Z'], ['Europe/Stockholm', '2026-10-24T12:00:00Z'], ['America/New_York', '2026-11-01T00:00:00Z']] as const) {
      const all = syncSlotsBetween(60, new Date(from), new Date(Date.parse(from) + 2 * 86_400_000), zone);
      for (let i = 0; i + 1 < all.length; i++) {
        expect(nextSyncSlot(60, all[i]!, zone)).toEqual(all[i + 1]);
        expect(lastSyncSlot(60, new Date(all[i + 1]!.getTime() - 1), zone)).toEqual(all[i]);
        expect(lastSyncSlot(60, all[i]!, zone)).toEqual(all[i]);
      }
    }
  });
});
