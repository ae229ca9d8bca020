/** `strata retention simulate`, run as the admin runs it: the real CLI, no server. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok, okJson, strataCli } from '../helpers/cli.js';

let dir: string;
const file = (name: string, content: unknown) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
};

const ISSUE_POLICY = {
  schedule: { frequency: 'weekly', weekdays: ['sun'], times: ['22:00'] },
  retention: { daily: { count: 30 }, weekly: { count: 12, weekday: 'sun' }, monthly: { count: 12, day: 'first-sun' }, yearly: { count: 5, month: 1, day: 1 } },
  timeZone: 'Europe/Stockholm',
};
const POINTS = ['2026-03-01T22:00:00+01:00', '2026-03-08T21:00:00Z', '2026-03-14T22:00', '2025-01-01T22:00:00+01:00', '2026-03-16T08:00:00Z'];
const NOW = '2026-03-15T12:00:00Z';

beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-simulate-')); });
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('strata retention simulate', () => {
  it("--json: one {time, keep, reasons} per point, in input order, for the issue's example policy", async () => {
    const out = await okJson(strataCli(['retention', 'simulate', '--policy', file('p.json', ISSUE_POLICY), '--points', file('pts.json', POINTS), '--now', NOW, '--json']));
    expect(out).toEqual([
      { time: '2026-03-01T21:00:00.000Z', keep: true, reasons: ['weekly-2', 'monthly-1'] },
      { time: '2026-03-08T21:00:00.000Z', keep: true, reasons: ['weekly-1'] },
      // no offset: local time in the policy's zone (Saturday 22:00 CET)
      { time: '2026-03-14T21:00:00.000Z', keep: false, reasons: ['outside-retention', 'daily:not-on-weekly-schedule', 'weekly:not-a-sun', 'monthly:not-first-sun', 'yearly:not-jan-1'] },
      { time: '2025-01-01T21:00:00.000Z', keep: true, reasons: ['yearly-2'] },
      { time: '2026-03-16T08:00:00.000Z', keep: true, reasons: ['future'] },
    ]);
  });

  it('prints a table with local times, keep or prune and the reasons, and a summary', async () => {
    const out = await ok(strataCli(['retention', 'simulate', '--policy', file('p.json', ISSUE_POLICY), '--points', file('pts.json', POINTS), '--now', NOW]));
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+LOCAL\s+ACTION\s+REASONS$/);
    expect(lines[1]).toMatch(/^2026-03-01T21:00:00.000Z\s+Sun 2026-03-01 22:00\s+keep\s+weekly-2 monthly-1$/);
    expect(lines[3]).toMatch(/^2026-03-14T21:00:00.000Z\s+Sat 2026-03-14 22:00\s+prune\s+outside-retention daily:not-on-weekly-schedule/);
    expect(lines.at(-1)).toBe('5 points: 4 kept, 1 pruned (local times in Europe/Stockholm)');
  });

  it('takes a short-term policy, and the output of `points list --json`', async () => {
    const points = [{ id: 'a', createdAt: '2026-03-15T11:00:00.000Z' }, { id: 'b', createdAt: '2026-03-10T12:00:00.000Z' }, { id: 'c', createdAt: '2026-03-15T11:30:00.000Z' }];
    const policy = file('short.json', { syncFrequency: '15m', retentionDays: 3, maxPoints: 1 });
    const out = await okJson(strataCli(['retention', 'simulate', '--policy', policy, '--points', file('list.json', points), '--now', NOW, '--json']));
    expect(out).toEqual([
      { time: '2026-03-15T11:00:00.000Z', keep: false, reasons: ['within-3-days', 'over-cap-1'] },
      { time: '2026-03-10T12:00:00.000Z', keep: false, reasons: ['outside-3-days', 'over-cap-1'] },
      { time: '2026-03-15T11:30:00.000Z', keep: true, reasons: ['within-3-days'] },
    ]);
  });

  it('bad input is refused with a clear message and exit code 2', async () => {
    const policy = file('good.json', ISSUE_POLICY);
    const points = file('good-points.json', POINTS);
    const cases: Array<[string[], RegExp]> = [
      [['--points', points, '--now', NOW], /retention simulate needs --policy POLICY\.json and --points POINTS\.json/],
      [['--policy', path.join(dir, 'missing.json'), '--points', points, '--now', NOW], /--policy: cannot read '.*missing\.json': ENOENT/],
      [['--policy', file('broken.json', '{"schedule": '), '--points', points, '--now', NOW], /--policy: '.*broken\.json' is not valid JSON/],
      [['--policy', file('range.json', { ...ISSUE_POLICY, retention: { weekly: { count: 6000, weekday: 'sun' } } }), '--points', points, '--now', NOW],
        /range\.json: retention\.weekly\.count must be a whole number from 1 to 5163 weeks \(got 6000\)/],
      [['--policy', file('short-bad.json', { syncFrequency: '20m', retentionDays: 14 }), '--points', points, '--now', NOW],
        /short-bad\.json: sync frequency must be one of 15m, 30m, 45m, 1h, 2h, 4h, 6h, 12h, 24h \(got 20m\)/],
      [['--policy', policy, '--points', file('obj.json', { points: [] }), '--now', NOW], /obj\.json: must be a JSON list of ISO times/],
      [['--policy', policy, '--points', file('bad-time.json', ['2026-03-01T22:00:00Z', 'yesterday']), '--now', NOW], /bad-time\.json: entry 2: "yesterday" is not an ISO time/],
      [['--policy', policy, '--points', points, '--now', 'soon'], /--now: 'soon' is not an ISO time/],
      [['--policy', policy, '--points', points, '--now', NOW, '--time-zone', 'Mars/Olympus'], /timeZone must be an IANA time zone/],
      [['--policy', policy, '--points', points, '--now', NOW, '--short-term'], /good\.json: short-term policy: unknown field "schedule"/],
    ];
    const results = await Promise.all(cases.map(([args]) => strataCli(['retention', 'simulate', ...args])));
    results.forEach((r, i) => {
      expect({ code: r.code, stdout: r.stdout }, cases[i]![1].source).toEqual({ code: 2, stdout: '' });
      expect(r.stderr).toMatch(cases[i]![1]);
    });
  });
});
