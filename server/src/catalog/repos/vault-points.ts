/**
 * Online copies of recovery points (vault_points) and their soft delete.
 * Recording one and removing one also move the recovery point's location
 * ('disk' <-> 'both', or the point itself for 'vault'), in one transaction.
 */
import { IsNull, LessThanOrEqual, Not, type FindOptionsWhere } from 'typeorm';
import type { VaultPointOps } from '../catalog.js';
import type { RepoContext } from '../context.js';
import { CatalogError } from '../errors.js';
import type { RecoveryPoint, VaultPointRecord } from '../types.js';
import { validId } from './util.js';

function count(what: string, field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new CatalogError('INVALID_REQUEST', `${what}: ${field} must be a whole number, 0 or more (got ${String(v)})`);
  }
  return v;
}

export function vaultPointOps(ctx: RepoContext): VaultPointOps {
  const E = ctx.entities.vaultPoint;
  const P = ctx.entities.recoveryPoint;
  return {
    recordVaultPoint: async (input) => {
      const what = `record the online copy of recovery point ${input.pointId}`;
      if (!validId(input.pointId)) throw new CatalogError('INVALID_REQUEST', `${what}: the point id is not a uuid`);
      if (!validId(input.vaultId)) throw new CatalogError('INVALID_REFERENCE', `${what}: vault '${input.vaultId}' does not exist`);
      const row: VaultPointRecord = {
        pointId: input.pointId, vaultId: input.vaultId, uploadedAt: input.uploadedAt ?? ctx.clock.now(),
        chunks: count(what, 'chunks', input.chunks), bytesSent: count(what, 'bytesSent', input.bytesSent),
        imported: input.imported ?? false, deletedAt: null, purgeAfter: null,
      };
      return ctx.atomic(what, async (m) => {
        const point = await m.findOneBy(P, { id: input.pointId });
        if (!point) throw new CatalogError('INVALID_REFERENCE', `${what}: the recovery point does not exist`);
        const existing = await m.findOneBy(E, { pointId: input.pointId });
        if (existing) {
          if (existing.vaultId !== input.vaultId) throw new CatalogError('CONFLICT', `${what}: it is already in vault ${existing.vaultId}`);
          return existing;
        }
        await m.insert(E, row);
        await m.update(P, { id: point.id }, { location: point.location === 'vault' ? 'vault' : 'both', vaultId: input.vaultId });
        return row;
      });
    },

    getVaultPoint: async (pointId) =>
      validId(pointId) ? ctx.run(`get online copy of recovery point ${pointId}`, (m) => m.findOneBy(E, { pointId })) : null,

    listVaultPoints: async (filter = {}) => {
      const where: FindOptionsWhere<VaultPointRecord> = {};
      if (filter.vaultId !== undefined) {
        if (!validId(filter.vaultId)) return [];
        where.vaultId = filter.vaultId;
      }
      const state = filter.state ?? 'live';
      if (state === 'live') where.deletedAt = IsNull();
      if (state === 'deleted') where.deletedAt = Not(IsNull());
      return ctx.run('list online recovery points', (m) => m.find(E, { where, order: { uploadedAt: 'DESC', pointId: 'DESC' } }));
    },

    softDeleteVaultPoint: async (pointId, purgeAfter, deletedAt) => {
      const what = `soft-delete the online copy of recovery point ${pointId}`;
      if (!(purgeAfter instanceof Date) || Number.isNaN(purgeAfter.getTime())) throw new CatalogError('INVALID_REQUEST', `${what}: purgeAfter must be a Date`);
      if (!validId(pointId)) return null;
      return ctx.atomic(what, async (m) => {
        await m.update(E, { pointId, deletedAt: IsNull() }, { deletedAt: deletedAt ?? ctx.clock.now(), purgeAfter });
        return m.findOneBy(E, { pointId });
      });
    },

    undeleteVaultPoint: async (pointId) => {
      const what = `undelete the online copy of recovery point ${pointId}`;
      if (!validId(pointId)) return null;
      return ctx.atomic(what, async (m) => {
        await m.update(E, { pointId }, { deletedAt: null, purgeAfter: null });
        return m.findOneBy(E, { pointId });
      });
    },

    listPurgeableVaultPoints: (now) =>
      ctx.run('list purgeable online recovery points', (m) =>
        m.find(E, { where: { deletedAt: Not(IsNull()), purgeAfter: LessThanOrEqual(now) }, order: { purgeAfter: 'ASC', pointId: 'ASC' } })),

    removeVaultPoint: async (pointId) => {
      const what = `remove the online copy of recovery point ${pointId}`;
      if (!validId(pointId)) return { removed: false, pointDeleted: false };
      return ctx.atomic(what, async (m) => {
        const row = await m.findOneBy(E, { pointId });
        if (!row) return { removed: false, pointDeleted: false };
        await m.delete(E, { pointId });
        const point: RecoveryPoint | null = await m.findOneBy(P, { id: pointId });
        if (!point) return { removed: true, pointDeleted: false };
        if (point.location === 'vault') {
          await m.update(P, { parentPointId: pointId }, { parentPointId: null });
          await m.delete(P, { id: pointId });
          return { removed: true, pointDeleted: true };
        }
        await m.update(P, { id: pointId }, { location: 'disk', vaultId: null });
        return { removed: true, pointDeleted: false };
      });
    },
  };
}
