import { describe, expect, it } from 'vitest';
import { bytes, duration, progressLine, table } from '../../server/src/cli/format.js';

describe('CLI progress and formatting', () => {
  it('shows percent, bytes, files, rate and ETA of a running job', () => {
    const started = Date.parse('2026-01-01T00:00:00Z');
    const line = progressLine({
      id: 'j', type: 'backup', state: 'running', bytesScanned: 512 * 2 ** 20, bytesTotal: 2 * 2 ** 30, bytesSent: 100 * 2 ** 20,
      filesScanned: 1200, filesTotal: 5000, startedAt: new Date(started).toISOString(),
    }, started + 4000);
    expect(line).toBe('backup running: 25.0% 512.0 MiB of 2.00 GiB, 1200/5000 files, 128.0 MiB/s, sent 100.0 MiB ETA 12s');
  });

  it('leaves out percent and ETA when the total is unknown', () => {
    const line = progressLine({ id: 'j', type: 'restore', state: 'running', bytesScanned: 10 * 2 ** 20, startedAt: new Date(0).toISOString() }, 10_000);
    expect(line).not.toMatch(/%|ETA/);
    expect(line).toMatch(/10.0 MiB, 0 files, 1.00 MiB\/s/);
  });

  it('formats sizes, durations and tables', () => {
    expect(bytes(0)).toBe('0 B');
    expect(bytes(1536)).toBe('1.50 KiB');
    expect(duration(3_725_000)).toBe('1h02m');
    expect(duration(65_000)).toBe('1m05s');
    expect(table([{ a: 'x', b: 12 }], ['a', 'b'])).toBe('A  B\nx  12');
  });
});
