/**
 * Vaults (/vaults, /vault-points): the long-term tier, through the
 * VaultService (services/vault-service.ts; docs/vault-service.md).
 * Creating or attaching a vault takes the passphrase once (it is never
 * stored; the unlocked key is kept under the data dir) and creates the online
 * policy `DefaultPolicy` when missing. Secrets in targets are write-only:
 * responses show `<field>Set: true` instead.
 *
 * The service is ctx.vaults, the one the server made and also gave the
 * scheduler; in-process tests without one get sharedVaultService() for this
 * catalog and data dir (one per data dir, never two).
 */
import type Router from '@koa/router';
import type { Vault } from '../../catalog/index.js';
import { invalid, notFound } from '../../errors.js';
import { sharedVaultService, type VaultService } from '../../services/vault-service.js';
import { publicVault } from '../../services/vault-targets.js';
import { uploadProgressInto } from '../../scheduler/upload.js';
import { startVaultVerify } from '../../services/vault-verify.js';
import { body, type ApiContext } from '../context.js';

export function vaultServiceOf(ctx: ApiContext): VaultService {
  if (ctx.vaults) return ctx.vaults;
  if (!ctx.dataDir) throw invalid('this server has no data dir: vaults need one for their local state');
  return sharedVaultService({ catalog: ctx.catalog, store: ctx.store, dataDir: ctx.dataDir, timeZone: ctx.timeZone });
}

export async function resolveVault(ctx: ApiContext, ref: string): Promise<Vault> {
  return vaultServiceOf(ctx).get(ref);
}

/** POST /vaults: `{name, target?, secondary?, redundancy?, passphrase, softDeleteDays?, immutable?}`; `path` alone still means a local target. */
function vaultInput(b: Record<string, unknown>) {
  const target = b.target ?? (b.path !== undefined ? { kind: 'local', path: b.path } : undefined);
  return { name: b.name, target, secondary: b.secondary, redundancy: b.redundancy, passphrase: b.passphrase, softDeleteDays: b.softDeleteDays, immutable: b.immutable };
}

function pointState(q: unknown): 'live' | 'deleted' | 'all' {
  if (q === undefined) return 'live';
  if (q === 'live' || q === 'deleted' || q === 'all') return q;
  throw invalid(`state must be live, deleted or all (got ${JSON.stringify(q)})`);
}

export function vaultRoutes(r: Router, ctx: ApiContext) {
  const svc = () => vaultServiceOf(ctx);
  const withCounts = async (v: Vault) => {
    const [live, deleted] = await Promise.all([
      ctx.catalog.listVaultPoints({ vaultId: v.id }), ctx.catalog.listVaultPoints({ vaultId: v.id, state: 'deleted' }),
    ]);
    return { ...publicVault(v), points: live.length, deletedPoints: deleted.length };
  };

  r.get('/vaults', async (c) => {
    c.body = await Promise.all((await ctx.catalog.listVaults()).map(withCounts));
  });
  r.get('/vaults/:id', async (c) => {
    c.body = await withCounts(await svc().get(c.params.id!));
  });
  r.post('/vaults', async (c) => {
    const { vault, defaultPolicy } = await svc().createVault(vaultInput(body(c)));
    c.status = 201;
    c.body = { ...publicVault(vault), defaultPolicy };
  });
  r.post('/vaults/attach', async (c) => {
    const { vault, defaultPolicy, imported } = await svc().attach(vaultInput(body(c)));
    c.status = 201;
    c.body = { ...publicVault(vault), defaultPolicy, imported };
  });
  r.patch('/vaults/:id', async (c) => {
    const b = body(c);
    c.body = publicVault(await svc().update(c.params.id!, { softDeleteDays: b.softDeleteDays, immutable: b.immutable }));
  });
  r.get('/vaults/:id/points', async (c) => {
    c.body = await svc().listPoints(c.params.id!, pointState(c.query.state));
  });
  r.post('/vaults/:id/points/:point/undelete', async (c) => {
    c.body = await svc().undeletePoint(c.params.point!, c.params.id!);
  });
  // Back up now to the vault ("Back Up Now" of MARS): an 'upload' job of one recovery point on disk.
  r.post('/vaults/:id/uploads', async (c) => {
    const b = body(c);
    if (typeof b.point !== 'string') throw invalid('point is required: the recovery point to send to the vault');
    const vaults = svc();
    const rec = await vaults.get(c.params.id!);
    const point = await ctx.catalog.getRecoveryPoint(b.point);
    if (!point) throw notFound('recovery point', b.point);
    c.status = 202;
    c.body = await ctx.jobs.startServerJob('upload', { pointId: point.id, vault: rec.name, manual: true }, async (progress, signal) => {
      progress.bytesTotal = point.bytes;
      progress.filesTotal = point.files;
      const r = await vaults.uploadPoint(point.id, { vault: rec.id, signal, onProgress: uploadProgressInto(progress) });
      const { online: _online, ...result } = r;
      return { pointId: point.id, result: { ...result } };
    }, { dataSourceId: point.dataSourceId, agentId: point.agentId });
  });
  // Verify: a 'verify' job reading each target separately (services/vault-verify.ts); readData false checks only indexes, pack sizes and points.
  r.post('/vaults/:id/verify', async (c) => {
    const b = body(c);
    if (b.readData !== undefined && typeof b.readData !== 'boolean') throw invalid(`readData must be true or false (got ${JSON.stringify(b.readData)})`);
    c.status = 202;
    c.body = await startVaultVerify({ jobs: ctx.jobs, vaults: svc(), catalog: ctx.catalog }, c.params.id!, { readData: b.readData !== false });
  });
  // Prune now (the daily GC job does it on its own): a 'prune' job that reclaims packs of removed points.
  r.post('/vaults/:id/prune', async (c) => {
    const b = body(c);
    const below = b.rewriteBelow;
    if (below !== undefined && (typeof below !== 'number' || !(below >= 0 && below <= 1))) throw invalid(`rewriteBelow must be a share between 0 and 1 (got ${JSON.stringify(below)})`);
    const vaults = svc();
    const rec = await vaults.get(c.params.id!);
    c.status = 202;
    c.body = await ctx.jobs.startServerJob('prune', { vault: rec.name, rewriteBelow: below ?? 0.5 }, async (progress, signal) => {
      const r = await vaults.pruneVault(rec.id, {
        rewriteBelow: below as number | undefined, signal,
        onProgress: (p) => {
          progress.currentPath = p.phase;
          progress.filesChanged = p.packsDeleted + p.packsRewritten;
          progress.bytesStored = p.bytesRewritten;
        },
      });
      const warnings = r.postponed ? [`pack work postponed: ${r.reason ?? 'a restore or verify is reading the vault'}; the next run does it`] : [];
      return { state: warnings.length ? 'warning' : 'succeeded', warnings, result: { ...r } };
    });
  });
  r.delete('/vault-points/:point', async (c) => {
    c.body = await svc().deletePoint(c.params.point!);
  });
}
