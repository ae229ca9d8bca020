/**
 * The vault figures → a second Markdown table under the main one (Strata only,
 * so no ratios to peers: restic and borg have no second tier). Medians over
 * runs, like the main table.
 */
import { median } from './table.js';
import { VAULT_PHASES, type VaultMetrics, type VaultRun } from './vault.js';
import { VAULT_TARGETS } from './vault-targets.js';

const megabytes = (v: number): string => (v / 1e6).toFixed(v < 1e6 ? 3 : 1);
const COLUMNS: Array<{ key: keyof VaultMetrics; title: string; fmt: (v: number) => string }> = [
  { key: 'wallS', title: 'wall s', fmt: (v) => v.toFixed(v < 10 ? 2 : 1) },
  { key: 'mbps', title: 'MB/s', fmt: (v) => v.toFixed(0) },
  { key: 'sentBytes', title: 'sent MB', fmt: megabytes },
  { key: 'vaultBytes', title: 'vault MB', fmt: megabytes },
  { key: 'storeBytes', title: 'store MB', fmt: megabytes },
  { key: 'vaultPerStore', title: 'vault / store', fmt: (v) => v.toFixed(2) },
  { key: 'serverCpuS', title: 'server CPU s', fmt: (v) => v.toFixed(1) },
  { key: 'targetCpuS', title: 'Azurite CPU s', fmt: (v) => v.toFixed(1) },
  { key: 'rssServerKiB', title: 'peak RSS server MiB', fmt: (v) => (v / 1024).toFixed(0) },
];

/** '' when no run has vault figures (--no-vault, or no Strata). */
export function renderVaultTable(runs: readonly VaultRun[]): string {
  const head = ['vault', 'phase', ...COLUMNS.map((c) => c.title)];
  const rows: string[][] = [];
  for (const target of VAULT_TARGETS) {
    for (const phase of VAULT_PHASES) {
      const samples = runs.map((r) => r[target]?.[phase]).filter((m): m is VaultMetrics => !!m);
      if (!samples.length) continue;
      rows.push([target, phase, ...COLUMNS.map((c) => {
        const v = median(samples.map((m) => m[c.key]).filter((x): x is number => typeof x === 'number' && Number.isFinite(x)));
        return v === null ? '—' : c.fmt(v);
      })]);
    }
  }
  if (!rows.length) return '';
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i < 2 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(head), rule, ...rows.map(line)].join('\n');
}
