/**
 * agent-offline: an enrolled, unrevoked agent has been disconnected longer
 * than the threshold. Offline since = its lastSeenAt (the gateway records it
 * at connect and at disconnect), or its enrollment for one never seen, but
 * never before the monitor started: after a server restart every agent gets a
 * full threshold to reconnect instead of an alert storm. Key
 * `agent-offline:<agentId>`; resolved when it reconnects, is revoked or is
 * gone from the catalog.
 */
import type { Condition, Findings } from './types.js';

export const keyOf = (agentId: string) => `agent-offline:${agentId}`;

export const agentOffline: Condition = async (ctx, active) => {
  const agents = await ctx.catalog.listAgents();
  const activeKeys = new Set(active.map((a) => a.key));
  const out: Findings = { raise: [], resolve: [] };
  const offline = new Set<string>();
  for (const a of agents) {
    if (a.revokedAt || ctx.isAgentOnline(a.id)) continue;
    const since = a.lastSeenAt ?? a.createdAt;
    const forMs = ctx.now.getTime() - Math.max(since.getTime(), ctx.startedAt.getTime());
    if (forMs <= ctx.thresholds.agentOfflineMs) continue;
    offline.add(keyOf(a.id));
    if (activeKeys.has(keyOf(a.id))) continue;
    out.raise.push({
      key: keyOf(a.id), kind: 'agent-offline', severity: 'warning',
      subject: `Agent '${a.name}' is offline`,
      message: `The protection agent '${a.name}' (${a.hostname}) has not been connected since ${since.toISOString()} ` +
        `(${Math.round((ctx.now.getTime() - since.getTime()) / 60_000)} min, threshold ${Math.round(ctx.thresholds.agentOfflineMs / 60_000)} min): ` +
        `its data sources are not being protected. Start 'strata-agent run' on it.`,
      details: { agentId: a.id, agentName: a.name, hostname: a.hostname, lastSeenAt: a.lastSeenAt?.toISOString() ?? null },
    });
  }
  for (const key of activeKeys) if (!offline.has(key)) out.resolve.push(key);
  return out;
};
