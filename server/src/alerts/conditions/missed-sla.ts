/**
 * missed-sla: a data source in an active protection group has no recovery
 * point newer than `missedSlaFactor` (2) sync periods. The clock starts at its
 * newest point, or, for a source with none, when the source or the group was
 * created (whichever is later). Key `missed-sla:<dataSourceId>`; resolved by a
 * new point, or when the source leaves the group or the group is stopped
 * (it is no longer promised a frequency).
 */
import type { Condition, Findings } from './types.js';

const keyOf = (dataSourceId: string) => `missed-sla:${dataSourceId}`;

export const missedSla: Condition = async (ctx, active) => {
  const activeKeys = new Set(active.map((a) => a.key));
  const out: Findings = { raise: [], resolve: [] };
  const missing = new Set<string>();
  for (const g of await ctx.catalog.listProtectionGroups()) {
    if (g.state !== 'active') continue;
    const allowedMs = ctx.thresholds.missedSlaFactor * g.syncFrequencyMinutes * 60_000;
    for (const ds of await ctx.catalog.listGroupMembers(g.id)) {
      const latest = await ctx.catalog.latestRecoveryPoint(ds.id);
      const since = latest?.createdAt ?? new Date(Math.max(ds.createdAt.getTime(), g.createdAt.getTime()));
      if (ctx.now.getTime() - since.getTime() <= allowedMs) continue;
      const key = keyOf(ds.id);
      missing.add(key);
      if (activeKeys.has(key)) continue;
      const agent = await ctx.catalog.getAgent(ds.agentId);
      out.raise.push({
        key, kind: 'missed-sla', severity: 'error',
        subject: `No recovery point of '${ds.name}'${agent ? ` on agent '${agent.name}'` : ''} for ${Math.round((ctx.now.getTime() - since.getTime()) / 60_000)} min`,
        message: `Protection group '${g.name}' synchronizes every ${g.syncFrequencyMinutes} min, but data source '${ds.name}' has ` +
          (latest ? `had no new recovery point since ${latest.createdAt.toISOString()}` : 'no recovery point yet') +
          ` (allowed: ${ctx.thresholds.missedSlaFactor} x ${g.syncFrequencyMinutes} min). Check its jobs and its agent.`,
        details: {
          dataSourceId: ds.id, dataSourceName: ds.name, agentId: ds.agentId, agentName: agent?.name ?? null, groupId: g.id, groupName: g.name,
          syncFrequencyMinutes: g.syncFrequencyMinutes, lastPointAt: latest?.createdAt.toISOString() ?? null,
        },
      });
    }
  }
  for (const key of activeKeys) if (!missing.has(key)) out.resolve.push(key);
  return out;
};
