/**
 * The bench's vault table (test/bench/vault-table.ts; the bench itself is not
 * part of the suite): medians over runs, rows in target and phase order, no
 * ratio where there is nothing to compare, nothing at all without figures.
 */
import { describe, expect, it } from 'vitest';
import type { VaultMetrics, VaultRun } from '../bench/vault.js';
import { renderVaultTable } from '../bench/vault-table.js';

const upload = (wallS: number, sentBytes: number): VaultMetrics => ({
  wallS, mbps: 268.4 / wallS, sentBytes, vaultBytes: 151.6e6, storeBytes: 157.6e6, vaultPerStore: 151.6 / 157.6, chunks: 12707, serverCpuS: 5, targetCpuS: null, rssServerKiB: 300 * 1024,
});
const restore: VaultMetrics = { ...upload(11.3, 0), sentBytes: null, vaultPerStore: null, targetCpuS: 29.9 };

describe('bench vault table', () => {
  it('shows the median of each figure, targets and phases in a fixed order, and — where a figure does not apply', () => {
    const runs: VaultRun[] = [
      { azurite: { 'restore from vault': restore }, local: { 'vault upload full': upload(6, 151.6e6), 'vault upload incr': upload(1, 5.8e6) } },
      { local: { 'vault upload full': upload(8, 151.6e6), 'vault upload incr': upload(3, 5.8e6) } },
      { local: { 'vault upload full': upload(7.5, 151.6e6) } },
    ];
    const lines = renderVaultTable(runs).split('\n');
    expect(lines[0]).toMatch(/^\| vault +\| phase +\| wall s \| MB\/s \| sent MB \| vault MB \| store MB \| vault \/ store \| server CPU s \| Azurite CPU s \| peak RSS server MiB \|$/);
    const cells = lines.slice(2).map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
    expect(cells.map((c) => c.slice(0, 3))).toEqual([
      ['local', 'vault upload full', '7.50'],
      ['local', 'vault upload incr', '2.00'],
      ['azurite', 'restore from vault', '11.3'],
    ]);
    expect(cells[0]!.slice(3)).toEqual(['36', '151.6', '151.6', '157.6', '0.96', '5.0', '—', '300']);
    expect(cells[2]![4]).toBe('—');
    expect(cells[2]![7]).toBe('—');
    expect(cells[2]![9]).toBe('29.9');
  });

  it('is empty when no run has vault figures (--no-vault, or no Strata)', () => {
    expect(renderVaultTable([])).toBe('');
    expect(renderVaultTable([{}])).toBe('');
  });
});
