/**
 * Protection groups (/groups): members, the short-term policy (validated by
 * retention/policy.ts, errors name the allowed range), the optional online
 * policy, and stop / resume protection. Every change is handed to the
 * scheduler (ctx.protection) so that it re-plans and re-applies retention.
 */
import type Router from '@koa/router';
import type { DataSourceRecord, ProtectionGroup } from '../../catalog/index.js';
import { conflict, invalid, notFound } from '../../errors.js';
import { formatFrequency, parseShortTermPolicy } from '../../retention/policy.js';
import { prunePoint } from '../../services/maintenance.js';
import { body, type ApiContext } from '../context.js';
import { resolvePolicy } from './policies.js';
import { resolveSource } from './sources.js';
import { vaultServiceOf } from './vaults.js';

export async function resolveGroup(ctx: ApiContext, ref: string): Promise<ProtectionGroup> {
  const g = (await ctx.catalog.getProtectionGroup(ref)) ?? (await ctx.catalog.getProtectionGroupByName(ref));
  if (!g) throw notFound('protection group', ref);
  return g;
}

function groupName(v: unknown): string {
  if (typeof v !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,127}$/.test(v)) {
    throw invalid('group name must be 1 to 128 letters, digits, spaces, dots, dashes or underscores, starting with a letter or digit');
  }
  return v;
}

/** The short-term fields of a body, without the absent ones (the parser refuses unknown keys, not missing ones). */
function shortTermInput(b: Record<string, unknown>, base?: ProtectionGroup) {
  const input: Record<string, unknown> = {
    syncFrequency: b.syncFrequency ?? b.syncFrequencyMinutes ?? base?.syncFrequencyMinutes,
    retentionDays: b.retentionDays ?? base?.retentionDays,
    maxPoints: b.maxPoints ?? base?.maxPoints,
  };
  for (const k of Object.keys(input)) if (input[k] === undefined) delete input[k];
  return parseShortTermPolicy(input);
}

async function onlinePolicyId(ctx: ApiContext, v: unknown): Promise<string | null | undefined> {
  if (v === undefined) return undefined;
  if (v === null || v === '') return null;
  if (typeof v !== 'string') throw invalid('onlinePolicy must be a policy name or id, or null for none');
  return (await resolvePolicy(ctx, v)).id;
}

export function groupRoutes(r: Router, ctx: ApiContext) {
  const changed = (g: ProtectionGroup) => ctx.protection?.groupChanged(g.id);

  /** A group as the API shows it: the frequency in the CLI's form, the policy's name, the member count. */
  const view = async (g: ProtectionGroup, members?: DataSourceRecord[]) => {
    const policy = g.onlinePolicyId ? await ctx.catalog.getOnlinePolicy(g.onlinePolicyId) : null;
    const list = members ?? (await ctx.catalog.listGroupMembers(g.id));
    return { ...g, syncFrequency: formatFrequency(g.syncFrequencyMinutes), onlinePolicy: policy?.name ?? null, memberCount: list.length };
  };

  r.get('/groups', async (c) => {
    const [groups, policies, sources] = await Promise.all([
      ctx.catalog.listProtectionGroups(), ctx.catalog.listOnlinePolicies(), ctx.catalog.listDataSources(),
    ]);
    const policyName = new Map(policies.map((p) => [p.id, p.name]));
    c.body = groups.map((g) => ({
      ...g,
      syncFrequency: formatFrequency(g.syncFrequencyMinutes),
      onlinePolicy: g.onlinePolicyId ? (policyName.get(g.onlinePolicyId) ?? null) : null,
      memberCount: sources.filter((s) => s.groupId === g.id).length,
    }));
  });

  r.get('/groups/:id', async (c) => {
    const g = await resolveGroup(ctx, c.params.id!);
    const members = await ctx.catalog.listGroupMembers(g.id);
    const agents = new Map((await ctx.catalog.listAgents()).map((a) => [a.id, a.name]));
    c.body = { ...(await view(g, members)), members: members.map((s) => ({ ...s, agentName: agents.get(s.agentId) ?? null })) };
  });

  r.post('/groups', async (c) => {
    const b = body(c);
    const name = groupName(b.name);
    const short = shortTermInput(b);
    const policyId = await onlinePolicyId(ctx, b.onlinePolicy);
    if (await ctx.catalog.getProtectionGroupByName(name)) throw conflict(`protection group '${name}' already exists`);
    const g = await ctx.catalog.createProtectionGroup({ name, ...short, onlinePolicyId: policyId ?? null });
    await changed(g);
    c.status = 201;
    c.body = await view(g, []);
  });

  r.patch('/groups/:id', async (c) => {
    const g = await resolveGroup(ctx, c.params.id!);
    const b = body(c);
    const known = ['name', 'syncFrequency', 'syncFrequencyMinutes', 'retentionDays', 'maxPoints', 'onlinePolicy'];
    const unknown = Object.keys(b).filter((k) => !known.includes(k));
    if (unknown.length) throw invalid(`unknown field ${unknown.join(', ')} (allowed: ${known.join(', ')}; use /stop and /resume for the state)`);
    const name = b.name === undefined ? undefined : groupName(b.name);
    const short = shortTermInput(b, g);
    const policyId = await onlinePolicyId(ctx, b.onlinePolicy);
    if (name !== undefined && name !== g.name && (await ctx.catalog.getProtectionGroupByName(name))) {
      throw conflict(`protection group '${name}' already exists`);
    }
    const u = await ctx.catalog.updateProtectionGroup(g.id, { name, ...short, onlinePolicyId: policyId });
    if (!u) throw notFound('protection group', c.params.id!);
    await changed(u);
    c.body = await view(u);
  });

  r.post('/groups/:id/members', async (c) => {
    const g = await resolveGroup(ctx, c.params.id!);
    const b = body(c);
    if (typeof b.dataSource !== 'string' || !b.dataSource) throw invalid('dataSource (a data source name or id) is required');
    const s = await resolveSource(ctx, b.dataSource);
    // CONFLICT (409) names the group the source is already in.
    const updated = await ctx.catalog.setDataSourceGroup(s.id, g.id);
    if (!updated) throw notFound('data source', b.dataSource);
    await changed(g);
    c.body = updated;
  });

  r.delete('/groups/:id/members/:source', async (c) => {
    const g = await resolveGroup(ctx, c.params.id!);
    const s = await resolveSource(ctx, c.params.source!);
    if (s.groupId !== g.id) throw notFound(`member of protection group '${g.name}'`, c.params.source!);
    await ctx.catalog.setDataSourceGroup(s.id, null);
    await changed(g);
    c.status = 204;
  });

  r.post('/groups/:id/stop', async (c) => {
    const g = await resolveGroup(ctx, c.params.id!);
    const b = body(c);
    if (b.deleteData !== undefined && typeof b.deleteData !== 'boolean') throw invalid('deleteData must be true or false');
    const stopped = (await ctx.catalog.updateProtectionGroup(g.id, { state: 'stopped' }))!;
    // Stopped first, so the scheduler starts nothing new for the members while their points go.
    await changed(stopped);
    let pruned = 0;
    const kept: Array<{ pointId: string; reason: string }> = [];
    if (b.deleteData === true) {
      const vaults = ctx.vaults ?? (ctx.dataDir ? vaultServiceOf(ctx) : undefined);
      for (const s of await ctx.catalog.listGroupMembers(g.id)) {
        for (const p of await ctx.catalog.listRecoveryPoints({ dataSourceId: s.id })) {
          // A point also in a vault loses its disk copy first, then its online copy goes to soft delete
          // (an immutable vault refuses: the copy stays until its retention expires).
          try {
            const r = await prunePoint(ctx.catalog, ctx.store, p.id, { vaults });
            if (r.action === 'disk-copy-dropped') await prunePoint(ctx.catalog, ctx.store, p.id, { vaults });
            pruned++;
          } catch (e) {
            kept.push({ pointId: p.id, reason: (e as Error).message });
          }
        }
      }
    }
    c.body = { ...(await view(stopped)), pruned, ...(kept.length ? { kept } : {}) };
  });

  r.post('/groups/:id/resume', async (c) => {
    const g = await resolveGroup(ctx, c.params.id!);
    const u = (await ctx.catalog.updateProtectionGroup(g.id, { state: 'active' }))!;
    await changed(u);
    c.body = await view(u);
  });

  r.delete('/groups/:id', async (c) => {
    const g = await resolveGroup(ctx, c.params.id!);
    await ctx.catalog.deleteProtectionGroup(g.id);
    await changed(g);
    c.status = 204;
  });
}
