/**
 * `strata retention simulate`: try a policy on a list of recovery point times
 * before applying it (PBS's prune simulator). Runs locally, no server: it
 * calls the same pure functions the server's prune uses.
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { invalid, StrataError } from '../errors.js';
import { evaluateOnlineRetention, evaluateShortTermRetention, type RetentionDecision } from '../retention/evaluate.js';
import { parseOnlinePolicy, parseShortTermPolicy, parseTimeZone } from '../retention/policy.js';
import { table } from './format.js';

const out = (s: string) => process.stdout.write(s + '\n');

interface SimulateOptions { policy?: string; points?: string; now?: string; timeZone?: string; shortTerm?: boolean; json?: boolean }

export function retentionCommand(program: Command) {
  const retention = program.command('retention').description('retention policies: try one before applying it');
  retention.command('simulate')
    .description('print keep or prune, with the reasons, for every point under a policy (runs locally)')
    .option('--policy <file>', 'POLICY.json: an online policy as the REST API takes it, or a short-term policy {syncFrequency, retentionDays, maxPoints}')
    .option('--points <file>', 'POINTS.json: a list of ISO times (or of objects with "time" or "createdAt", as `points list --json` prints)')
    .option('--now <iso-time>', 'the moment to evaluate at (default: the current time)')
    .option('--time-zone <zone>', "IANA zone for an online policy without timeZone, and for times without an offset (default: this machine's)")
    .option('--short-term', 'read POLICY.json as a short-term policy (the default when it has retentionDays)')
    .option('--json', 'a list of {"time", "keep", "reasons"}')
    .action((opts: SimulateOptions) => {
      // Checked here, not by commander, so a missing file is bad input (exit 2) like a bad one.
      if (!opts.policy || !opts.points) throw invalid('retention simulate needs --policy POLICY.json and --points POINTS.json');
      const o = { ...opts, policy: opts.policy, points: opts.points };
      const defaultZone = parseTimeZone(o.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC');
      const raw = readJson(o.policy, '--policy');
      const shortTerm = o.shortTerm || (typeof raw === 'object' && raw !== null && 'retentionDays' in raw);
      let decisions: RetentionDecision[];
      let zone = defaultZone;
      const points = (z: string) => parsePoints(readJson(o.points, '--points'), o.points, z);
      const now = (z: string) => (o.now === undefined ? new Date() : isoTime(o.now, z, `--now: '${o.now}'`));
      if (shortTerm) {
        const policy = inFile(o.policy, () => parseShortTermPolicy(raw));
        decisions = evaluateShortTermRetention(points(zone), policy, now(zone));
      } else {
        const spec = inFile(o.policy, () => parseOnlinePolicy(raw, defaultZone));
        zone = spec.timeZone;
        decisions = evaluateOnlineRetention(points(zone), spec, now(zone));
      }
      if (o.json) {
        out(JSON.stringify(decisions.map((d) => ({ time: d.time.toISOString(), keep: d.keep, reasons: d.reasons })), null, 2));
        return;
      }
      out(table(decisions.map((d) => ({
        time: d.time.toISOString(),
        local: DateTime.fromJSDate(d.time, { zone }).toFormat('ccc yyyy-MM-dd HH:mm'),
        action: d.keep ? 'keep' : 'prune',
        reasons: d.reasons.join(' '),
      })), ['time', 'local', 'action', 'reasons']));
      const kept = decisions.filter((d) => d.keep).length;
      out(`${decisions.length} points: ${kept} kept, ${decisions.length - kept} pruned (local times in ${zone})`);
    });
}

function readJson(file: string, option: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw invalid(`${option}: cannot read '${file}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw invalid(`${option}: '${file}' is not valid JSON: ${(e as Error).message}`);
  }
}

/** Runs a parser, naming the file in its refusal. */
function inFile<T>(file: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof StrataError) throw invalid(`${file}: ${e.message}`);
    throw e;
  }
}

function parsePoints(raw: unknown, file: string, zone: string): Date[] {
  if (!Array.isArray(raw)) throw invalid(`${file}: must be a JSON list of ISO times, such as ["2026-03-01T22:00:00+01:00"]`);
  return raw.map((entry, i) => {
    const value = typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>).time ?? (entry as Record<string, unknown>).createdAt : entry;
    return isoTime(value, zone, `${file}: entry ${i + 1}: ${JSON.stringify(entry)}`);
  });
}

/** An ISO 8601 time; one without an offset is local time in `zone`. */
function isoTime(value: unknown, zone: string, what: string): Date {
  const t = typeof value === 'string' ? DateTime.fromISO(value, { zone }) : null;
  if (!t?.isValid) throw invalid(`${what} is not an ISO time such as 2026-03-01T22:00:00Z`);
  return t.toJSDate();
}
