/**
 * Vaults (/vaults): the long-term tier. Until the uploader brings cloud
 * backends a vault is a local folder. Creating one also creates the online
 * policy `DefaultPolicy` (MARS's default) when no policy has that name yet.
 */
import path from 'node:path';
import type Router from '@koa/router';
import type { Vault } from '../../catalog/index.js';
import { conflict, invalid, notFound } from '../../errors.js';
import { DEFAULT_ONLINE_POLICY_NAME, defaultOnlinePolicy } from '../../retention/policy.js';
import { body, type ApiContext } from '../context.js';

export async function resolveVault(ctx: ApiContext, ref: string): Promise<Vault> {
  const v = (await ctx.catalog.getVault(ref)) ?? (await ctx.catalog.getVaultByName(ref));
  if (!v) throw notFound('vault', ref);
  return v;
}

export function vaultRoutes(r: Router, ctx: ApiContext) {
  r.get('/vaults', async (c) => {
    c.body = await ctx.catalog.listVaults();
  });
  r.get('/vaults/:id', async (c) => {
    c.body = await resolveVault(ctx, c.params.id!);
  });
  r.post('/vaults', async (c) => {
    const b = body(c);
    // The name becomes a folder name under the data dir: keep it to safe characters.
    if (typeof b.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(b.name)) {
      throw invalid('vault name must be 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit');
    }
    const name = b.name;
    let folder: string;
    if (b.path !== undefined) {
      if (typeof b.path !== 'string' || !path.isAbsolute(b.path) || b.path.includes('\0')) throw invalid('vault path must be an absolute folder path on the server');
      folder = path.normalize(b.path);
    } else {
      if (!ctx.dataDir) throw invalid('vault path is required (this server has no data dir to default to)');
      folder = path.join(ctx.dataDir, 'vault', name);
    }
    if (await ctx.catalog.getVaultByName(name)) throw conflict(`vault '${name}' already exists`);
    const { vault, policy, created } = await ctx.catalog.transaction(async (tx) => {
      const vault = await tx.createVault({ name, kind: 'local', config: { path: folder } });
      const existing = await tx.getOnlinePolicyByName(DEFAULT_ONLINE_POLICY_NAME);
      const policy = existing ?? (await tx.createOnlinePolicy({ name: DEFAULT_ONLINE_POLICY_NAME, spec: defaultOnlinePolicy(ctx.timeZone) }));
      return { vault, policy, created: !existing };
    });
    c.status = 201;
    c.body = { ...vault, defaultPolicy: { id: policy.id, name: policy.name, created } };
  });
}
