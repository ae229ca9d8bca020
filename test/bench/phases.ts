/**
 * One tool, one run: full backup → unchanged re-run → the 1% change → backup →
 * full restore, each measured after a `sync` (so earlier writeback does not
 * overlap the measurement), and the restore verified against the source.
 */
import { join } from 'node:path';
import { applyChange, type ChangeReport } from './change.js';
import type { Dataset } from './dataset.js';
import { run } from './measure.js';
import type { Phase, PhaseMetrics } from './table.js';
import type { PhaseSample, ToolSession } from './tools/tool.js';
import { compareManifests, manifest } from './tree.js';

export interface RunOutcome {
  phases: Record<Phase, PhaseMetrics>;
  change: ChangeReport;
  /** Differences between the restored tree and the source; empty when identical. */
  restoreDiffs: string[];
  restoredFiles: number;
}

const mb = (n: number | null): string => (n === null ? '?' : `${(n / 1e6).toFixed(1)} MB`);

export async function runPhases(session: ToolSession, ds: Dataset, workDir: string, log: (m: string) => void): Promise<RunOutcome> {
  const phase = async (name: Phase, action: () => Promise<PhaseSample>, bytes: number): Promise<PhaseMetrics> => {
    await run('sync', []);
    const sample = await action();
    const storeBytes = await session.storeBytes();
    log(`${name}: ${sample.wallS.toFixed(2)} s, sent ${mb(sample.sentBytes)}, store ${mb(storeBytes)}${sample.detail ? ` (${sample.detail})` : ''}`);
    return { ...sample, mbps: bytes / 1e6 / sample.wallS, storeBytes, sentPerChanged: null, growthPerChanged: null };
  };
  const full = await phase('full', () => session.backup(), ds.bytes);
  const unchanged = await phase('unchanged', () => session.backup(), ds.bytes);

  const change = await applyChange(ds);
  log(`1% change: ${change.changedBytes} bytes changed (${change.overwrites} overwrites, ${change.insertedBytes} B inserted, ${change.newFiles} new and ${change.deletedFiles} deleted files)`);
  const incr = await phase('1% change', () => session.backup(), ds.bytes);
  incr.sentPerChanged = incr.sentBytes === null ? null : incr.sentBytes / change.changedBytes;
  incr.growthPerChanged = (incr.storeBytes - unchanged.storeBytes) / change.changedBytes;

  const expected = await manifest(ds.root);
  const target = join(workDir, 'restore');
  const restore = await phase('restore', () => session.restore(target), ds.bytes);
  const restoreDiffs = compareManifests(expected, await manifest(join(target, ds.root.replace(/^\/+/, ''))).catch((e: Error) => new Map([['<restore root>', e.message]])));
  return { phases: { full, unchanged, '1% change': incr, restore }, change, restoreDiffs, restoredFiles: expected.size };
}
