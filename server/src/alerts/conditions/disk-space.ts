/**
 * disk-space: the file system holding the server's data dir (catalog, chunk
 * store) is fuller than the threshold. Used share as df computes it: used /
 * (used + available to unprivileged users). One key, `disk-space:data`;
 * resolved once usage is at or below the threshold.
 */
import type { Condition, DiskUsage } from './types.js';

export const DISK_KEY = 'disk-space:data';

export function usedPercent(s: DiskUsage): number {
  const used = s.blocks - s.bfree;
  const denom = used + s.bavail;
  return denom > 0 ? (used / denom) * 100 : 0;
}

export const diskSpace: Condition = async (ctx, active) => {
  const s = await ctx.statfs(ctx.dataDir);
  const pct = usedPercent(s);
  const isActive = active.some((a) => a.key === DISK_KEY);
  if (pct <= ctx.thresholds.diskUsedPercent) return { raise: [], resolve: isActive ? [DISK_KEY] : [] };
  if (isActive) return { raise: [], resolve: [] };
  const free = s.bavail * s.bsize;
  return {
    raise: [{
      key: DISK_KEY, kind: 'disk-space', severity: pct >= 98 ? 'error' : 'warning',
      subject: `Server disk ${pct.toFixed(1)}% full`,
      message: `The file system of the data dir ${ctx.dataDir} is ${pct.toFixed(1)}% used (threshold ${ctx.thresholds.diskUsedPercent}%), ` +
        `${(free / 2 ** 30).toFixed(2)} GiB free. Shorten retention, prune points and run 'strata gc', or add space.`,
      details: { dataDir: ctx.dataDir, usedPercent: Number(pct.toFixed(2)), freeBytes: free, thresholdPercent: ctx.thresholds.diskUsedPercent },
    }],
    resolve: [],
  };
};
