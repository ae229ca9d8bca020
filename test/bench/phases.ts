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

/** What one run produced; filled phase by phase, so a failure keeps the phases before it. */
export interface RunRecord {
  phases: Partial<Record<Phase, PhaseMetrics>>;
  change?: ChangeReport;
  /** Differences between the restored tree and the source; empty when identical. */
  restoreDiffs?: string[];
  restoredFiles?: number;
}

const mb = (n: number | null): string => (n === null ? '?' : `${(n / 1e6).toFixed(1)} MB`);

export async function runPhases(session: ToolSession, ds: Dataset, workDir: string, log: (m: string) => void, rec: RunRecord): Promise<void> {
  const phase = async (name: Phase, action: () => Promise<PhaseSample>, bytes: number): Promise<PhaseMetrics> => {
    await run('sync', []);
    const sample = await action();
    const storeBytes = await session.storeBytes();
    log(`${name}: ${sample.wallS.toFixed(2)} s, sent ${mb(sample.sentBytes)}, store ${mb(storeBytes)}${sample.detail ? ` (${sample.detail})` : ''}`);
    const m = { ...sample, mbps: bytes / 1e6 / sample.wallS, storeBytes, sentPerChanged: null, growthPerChanged: null };
    rec.phases[name] = m;
    return m;
  };
  await phase('full', () => session.backup(), ds.bytes);
  const unchanged = await phase('unchanged', () => session.backup(), ds.bytes);

  const change = (rec.change = await applyChange(ds));
  log(`1% change: ${change.changedBytes} bytes changed (${change.overwrites} overwrites, ${change.insertedBytes} B inserted, ${change.newFiles} new and ${change.deletedFiles} deleted files)`);
  const incr = await phase('1% change', () => session.backup(), ds.bytes);
  incr.sentPerChanged = incr.sentBytes === null ? null : incr.sentBytes / change.changedBytes;
  incr.growthPerChanged = (incr.storeBytes - unchanged.storeBytes) / change.changedBytes;

  const expected = await manifest(ds.root);
  const target = join(workDir, 'restore');
  // A restore is finished when its files are on disk: Strata syncs before it
  // reports done, restic and borg leave the writeback to the kernel. So every
  // tool's restore is timed up to the end of a `sync` that follows it.
  await phase('restore', async () => {
    const sample = await session.restore(target);
    const flush = await run('sync', []);
    const detail = `restore ${sample.wallS.toFixed(2)} s + sync ${flush.wallS.toFixed(2)} s`;
    return { ...sample, wallS: sample.wallS + flush.wallS, detail: sample.detail ? `${sample.detail}; ${detail}` : detail };
  }, ds.bytes);
  const restored = await manifest(join(target, ds.root.replace(/^\/+/, ''))).catch((e: Error) => new Map([['<restore root>', e.message]]));
  rec.restoreDiffs = compareManifests(expected, restored);
  rec.restoredFiles = expected.size;
}
