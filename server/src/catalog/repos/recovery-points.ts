/** Recovery points: one restorable state of one data source, and where it lives. */
import { randomUUID } from 'node:crypto';
import type { FindOptionsWhere } from 'typeorm';
import type { RecoveryPointOps } from '../catalog.js';
import type { RepoContext } from '../context.js';
import { CatalogError } from '../errors.js';
import type { PointLocation, RecoveryPoint } from '../types.js';
import { affected, validId } from './util.js';

const HEX_HASH = /^[0-9a-f]{64}$/;
const LOCATIONS: readonly PointLocation[] = ['disk', 'vault', 'both'];
const NEWEST_FIRST = { createdAt: 'DESC', id: 'DESC' } as const;

function checkLocation(what: string, location: unknown): asserts location is PointLocation {
  if (!LOCATIONS.includes(location as PointLocation)) {
    throw new CatalogError('INVALID_REQUEST', `${what}: unknown location '${String(location)}'`);
  }
}

export function recoveryPointOps(ctx: RepoContext): RecoveryPointOps {
  const E = ctx.entities.recoveryPoint;
  return {
    createRecoveryPoint: async (input) => {
      const what = `create recovery point of data source ${input.dataSourceId}`;
      if (!Array.isArray(input.root) || input.root.some((h) => typeof h !== 'string' || !HEX_HASH.test(h))) {
        throw new CatalogError('INVALID_REQUEST', `${what}: root must be a list of sha256 hex chunk hashes`);
      }
      if (input.id !== undefined && !validId(input.id)) {
        throw new CatalogError('INVALID_REQUEST', `${what}: id '${input.id}' is not a uuid`);
      }
      const location = input.location ?? 'disk';
      checkLocation(what, location);
      return ctx.run(what, async (m) => {
        const point: RecoveryPoint = {
          id: input.id ?? randomUUID(),
          dataSourceId: input.dataSourceId,
          agentId: input.agentId,
          jobId: input.jobId,
          createdAt: input.createdAt ?? ctx.clock.now(),
          root: [...input.root],
          files: input.files,
          dirs: input.dirs,
          bytes: input.bytes,
          bytesAdded: input.bytesAdded,
          parentPointId: input.parentPointId ?? null,
          location,
          vaultId: input.vaultId ?? null,
        };
        await m.insert(E, point);
        return point;
      });
    },

    getRecoveryPoint: async (id) =>
      validId(id) ? ctx.run(`get recovery point ${id}`, (m) => m.findOneBy(E, { id })) : null,

    listRecoveryPoints: (filter = {}) => {
      const where: FindOptionsWhere<RecoveryPoint> = {};
      if (filter.dataSourceId !== undefined) where.dataSourceId = filter.dataSourceId;
      if (filter.agentId !== undefined) where.agentId = filter.agentId;
      if (filter.vaultId !== undefined) where.vaultId = filter.vaultId;
      return ctx.run('list recovery points', (m) => m.find(E, { where, order: NEWEST_FIRST }));
    },

    latestRecoveryPoint: (dataSourceId) =>
      ctx.run(`latest recovery point of data source ${dataSourceId}`, (m) =>
        m.findOne(E, { where: { dataSourceId }, order: NEWEST_FIRST }),
      ),

    listRecoveryPointIds: () =>
      ctx.run('list recovery point ids', async (m) =>
        (await m.find(E, { select: { id: true }, order: { id: 'ASC' } })).map((p) => p.id),
      ),

    setRecoveryPointLocation: async (id, location, vaultId) => {
      const what = `set location of recovery point ${id}`;
      checkLocation(what, location);
      const patch = vaultId === undefined ? { location } : { location, vaultId };
      return validId(id) ? ctx.run(what, async (m) => affected(await m.update(E, { id }, patch))) : false;
    },

    deleteRecoveryPoint: async (id) =>
      validId(id) ? ctx.run(`delete recovery point ${id}`, async (m) => affected(await m.delete(E, { id }))) : false,
  };
}
