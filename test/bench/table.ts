/**
 * Results → one Markdown table. Each cell shows the median over runs and, in
 * parentheses, the ratio to the best peer (the better of restic and borg):
 * value ÷ best, where best is the lowest value, except MB/s where it is the
 * highest. So for every column a ratio below 1 is better than the best peer,
 * except MB/s where above 1 is better.
 */
import type { ToolName } from './tools/tool.js';
import type { VaultRun } from './vault.js';

export const PHASES = ['full', 'unchanged', '1% change', 'restore'] as const;
export type Phase = (typeof PHASES)[number];

export interface PhaseMetrics {
  wallS: number;
  mbps: number;
  sentBytes: number | null;
  storeBytes: number;
  rssAgentKiB: number | null;
  rssServerKiB: number | null;
  sentPerChanged: number | null;
  growthPerChanged: number | null;
}

export interface ToolResult {
  tool: ToolName;
  /** One entry per run that completed at least one phase (a failed run keeps the phases before the failure). */
  runs: Array<Partial<Record<Phase, PhaseMetrics>>>;
  /** Why the tool failed (an error, or a restore that differs), if it did. */
  failures: string[];
  /** Strata only: the vault tier's figures, one entry per run (vault.ts), and why a vault target failed. */
  vault?: VaultRun[];
  vaultFailures?: string[];
}

type Key = keyof PhaseMetrics;
const megabytes = (v: number): string => (v / 1e6).toFixed(v < 1e6 ? 3 : 1);
const COLUMNS: Array<{ key: Key; title: string; higherIsBetter?: boolean; fmt: (v: number) => string }> = [
  { key: 'wallS', title: 'wall s', fmt: (v) => v.toFixed(v < 10 ? 2 : 1) },
  { key: 'mbps', title: 'MB/s', higherIsBetter: true, fmt: (v) => v.toFixed(0) },
  { key: 'sentBytes', title: 'sent MB', fmt: megabytes },
  { key: 'storeBytes', title: 'store MB', fmt: megabytes },
  { key: 'rssAgentKiB', title: 'peak RSS agent/tool MiB', fmt: (v) => (v / 1024).toFixed(0) },
  { key: 'rssServerKiB', title: 'peak RSS server MiB', fmt: (v) => (v / 1024).toFixed(0) },
  { key: 'sentPerChanged', title: 'sent / changed', fmt: (v) => v.toFixed(2) },
  { key: 'growthPerChanged', title: 'store growth / changed', fmt: (v) => v.toFixed(2) },
];

export function median(values: readonly number[]): number | null {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function medianOf(r: ToolResult, phase: Phase, key: Key): number | null {
  return median(r.runs.map((run) => run[phase]?.[key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v)));
}

export function renderTable(results: readonly ToolResult[]): string {
  const peers = results.filter((r) => r.tool !== 'strata' && r.runs.length && !r.failures.length);
  const head = ['tool', 'phase', ...COLUMNS.map((c) => c.title)];
  const rows: string[][] = [];
  for (const r of results) {
    const name = r.failures.length ? `${r.tool} FAILED` : r.tool;
    if (!r.runs.length) {
      rows.push([name, '—', ...COLUMNS.map(() => '—')]);
      continue;
    }
    for (const phase of PHASES) {
      rows.push([name, phase, ...COLUMNS.map((c) => {
        const v = medianOf(r, phase, c.key);
        if (v === null) return '—';
        const peerValues = peers.map((p) => medianOf(p, phase, c.key)).filter((x): x is number => x !== null);
        const best = peerValues.length ? (c.higherIsBetter ? Math.max(...peerValues) : Math.min(...peerValues)) : null;
        return best ? `${c.fmt(v)} (${(v / best).toFixed(2)}×)` : c.fmt(v);
      })]);
    }
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i < 2 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(head), rule, ...rows.map(line)].join('\n');
}
