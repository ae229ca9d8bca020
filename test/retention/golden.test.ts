/**
 * Golden decisions: the example policy (and the same retention on a
 * daily schedule) over a year of nightly points, every decision with its
 * reasons, in a file a reviewer can diff when the rules change. Regenerate
 * with UPDATE_GOLDEN=1 and read the diff before committing it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { evaluateOnlineRetention } from '../../server/src/retention/evaluate.js';
import { parseOnlinePolicy } from '../../server/src/retention/policy.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const retention = { daily: { count: 30 }, weekly: { count: 12, weekday: 'sun' }, monthly: { count: 12, day: 'first-sun' }, yearly: { count: 5, month: 1, day: 1 } };
const CASES = {
  'issue-example-weekly': { schedule: { frequency: 'weekly', weekdays: ['sun'], times: ['22:00'] }, retention, timeZone: 'Europe/Stockholm' },
  'same-rules-daily': { schedule: { frequency: 'daily', times: ['22:00'] }, retention, timeZone: 'Europe/Stockholm' },
};

// Every night at 22:00 Stockholm time from 2025-01-01 to 2026-03-14, judged at noon on 2026-03-15.
function nightly(): Date[] {
  const out: Date[] = [];
  for (let d = Date.UTC(2025, 0, 1); d <= Date.UTC(2026, 2, 14); d += 86_400_000) {
    const summer = d >= Date.UTC(2025, 2, 30) && d < Date.UTC(2025, 9, 26); // CEST in 2025
    out.push(new Date(d + (summer ? 20 : 21) * 3_600_000));
  }
  return out;
}

describe('golden retention decisions', () => {
  it.each(Object.keys(CASES))('%s', (name) => {
    const spec = parseOnlinePolicy(CASES[name as keyof typeof CASES]);
    const lines = evaluateOnlineRetention(nightly(), spec, new Date('2026-03-15T11:00:00Z'))
      .map((d) => `${d.time.toISOString()} ${d.keep ? 'keep ' : 'prune'} ${d.reasons.join(' ')}`);
    const file = path.join(here, 'golden', `${name}.txt`);
    const text = lines.join('\n') + '\n';
    if (process.env.UPDATE_GOLDEN) fs.writeFileSync(file, text);
    expect(text).toBe(fs.readFileSync(file, 'utf8'));
  });
});
