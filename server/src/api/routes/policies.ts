/**
 * Online policies (/policies): the vault tier's schedule and GFS retention.
 * Specs are validated by retention/policy.ts (errors name the allowed range);
 * a change is handed to the scheduler at once, since it applies retroactively.
 */
import type Router from '@koa/router';
import type { OnlinePolicy } from '../../catalog/index.js';
import { conflict, invalid, notFound } from '../../errors.js';
import { parseOnlinePolicy } from '../../retention/policy.js';
import { checkOnlineRetentionAllowed } from '../../services/vault-protection.js';
import { body, type ApiContext } from '../context.js';

export async function resolvePolicy(ctx: ApiContext, ref: string): Promise<OnlinePolicy> {
  const p = (await ctx.catalog.getOnlinePolicy(ref)) ?? (await ctx.catalog.getOnlinePolicyByName(ref));
  if (!p) throw notFound('online policy', ref);
  return p;
}

export function policyName(v: unknown): string {
  if (typeof v !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,127}$/.test(v)) {
    throw invalid('policy name must be 1 to 128 letters, digits, spaces, dots, dashes or underscores, starting with a letter or digit');
  }
  return v;
}

function previousSpec(p: OnlinePolicy, timeZone?: string) {
  try {
    return parseOnlinePolicy(p.spec, timeZone);
  } catch {
    return undefined; // a stored spec the current code refuses: nothing to compare with
  }
}

export function policyRoutes(r: Router, ctx: ApiContext) {
  /** The policy with the names of the groups using it (a policy in use cannot be deleted). */
  const withGroups = async (list: OnlinePolicy[]) => {
    const groups = await ctx.catalog.listProtectionGroups();
    return list.map((p) => ({ ...p, groups: groups.filter((g) => g.onlinePolicyId === p.id).map((g) => g.name) }));
  };

  r.get('/policies', async (c) => {
    c.body = await withGroups(await ctx.catalog.listOnlinePolicies());
  });
  r.get('/policies/:id', async (c) => {
    c.body = (await withGroups([await resolvePolicy(ctx, c.params.id!)]))[0];
  });
  r.post('/policies', async (c) => {
    const b = body(c);
    const name = policyName(b.name);
    const spec = parseOnlinePolicy(b.spec, ctx.timeZone);
    if (await ctx.catalog.getOnlinePolicyByName(name)) throw conflict(`online policy '${name}' already exists`);
    // Soft delete / immutability on any vault: Azure's minimums (RETENTION_BELOW_MINIMUM, 400).
    checkOnlineRetentionAllowed(spec, await ctx.catalog.listVaults());
    c.status = 201;
    c.body = { ...(await ctx.catalog.createOnlinePolicy({ name, spec })), groups: [] };
  });
  r.patch('/policies/:id', async (c) => {
    const p = await resolvePolicy(ctx, c.params.id!);
    const b = body(c);
    const name = b.name === undefined ? undefined : policyName(b.name);
    const spec = b.spec === undefined ? undefined : parseOnlinePolicy(b.spec, ctx.timeZone);
    if (name === undefined && spec === undefined) throw invalid('nothing to change: give name and / or spec');
    // An immutable vault also refuses a lowered count or a dropped rule (the old spec as it parses now).
    if (spec !== undefined) checkOnlineRetentionAllowed(spec, await ctx.catalog.listVaults(), previousSpec(p, ctx.timeZone));
    if (name !== undefined && name !== p.name && (await ctx.catalog.getOnlinePolicyByName(name))) {
      throw conflict(`online policy '${name}' already exists`);
    }
    const updated = await ctx.catalog.updateOnlinePolicy(p.id, { name, spec });
    if (!updated) throw notFound('online policy', c.params.id!);
    // Azure Backup semantics: the new retention applies to the points already in the vault.
    if (spec !== undefined) await ctx.protection?.policyChanged(p.id);
    c.body = (await withGroups([updated]))[0];
  });
  r.delete('/policies/:id', async (c) => {
    const p = await resolvePolicy(ctx, c.params.id!);
    await ctx.catalog.deleteOnlinePolicy(p.id); // IN_USE (409) names the groups that use it
    c.status = 204;
  });
}
