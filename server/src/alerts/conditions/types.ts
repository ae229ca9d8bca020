/**
 * What a condition sees and what it reports. A condition is a pure reading of
 * the catalog (and the disk, the gateway) at one moment: it says which alerts
 * should be active and which should end; the monitor turns that into catalog
 * writes and notifications. Conditions never notify and never write.
 */
import type { Alert, Catalog, NewAlert } from '../../catalog/index.js';

export interface AlertThresholds {
  /** An agent offline longer than this raises agent-offline. */
  agentOfflineMs: number;
  /** A protected source with no new point for this many sync periods raises missed-sla. */
  missedSlaFactor: number;
  /** Used share of the data dir's file system, in percent, above which disk-space is raised. */
  diskUsedPercent: number;
  /** How far back failed jobs are looked at. */
  jobLookbackMs: number;
}

export const DEFAULT_THRESHOLDS: AlertThresholds = {
  agentOfflineMs: 60 * 60_000,
  missedSlaFactor: 2,
  diskUsedPercent: 90,
  jobLookbackMs: 7 * 24 * 3600_000,
};

export interface DiskUsage { blocks: number; bfree: number; bavail: number; bsize: number }

export interface ConditionContext {
  catalog: Catalog;
  now: Date;
  /** When the monitor started: it vouches for no offline time before it (a restarted server gives agents time to reconnect). */
  startedAt: Date;
  isAgentOnline(agentId: string): boolean;
  dataDir: string;
  thresholds: AlertThresholds;
  statfs(dir: string): Promise<DiskUsage>;
}

export interface Findings {
  /** Alerts whose condition holds; raising one that is already active is a no-op. */
  raise: NewAlert[];
  /** Keys whose condition has cleared. */
  resolve: string[];
}

/** `active`: this condition's currently active alerts (same kind). */
export type Condition = (ctx: ConditionContext, active: readonly Alert[]) => Promise<Findings>;
