/** Data sources: what an agent protects (a set of folders with includes / excludes). */
import { randomUUID } from 'node:crypto';
import type { DataSourceOps } from '../catalog.js';
import type { RepoContext } from '../context.js';
import { CatalogError } from '../errors.js';
import type { DataSourceKind, DataSourceRecord } from '../types.js';
import { affected, definedOnly, validId } from './util.js';

const KINDS: readonly DataSourceKind[] = ['files'];

function checkStrings(what: string, field: string, v: unknown): void {
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
    throw new CatalogError('INVALID_REQUEST', `${what}: ${field} must be an array of strings`);
  }
}

export function dataSourceOps(ctx: RepoContext): DataSourceOps {
  const E = ctx.entities.dataSource;
  return {
    createDataSource: async (input) => {
      const what = `create data source '${input.name}' of agent ${input.agentId}`;
      checkStrings(what, 'paths', input.paths);
      if (input.includes !== undefined) checkStrings(what, 'includes', input.includes);
      if (input.excludes !== undefined) checkStrings(what, 'excludes', input.excludes);
      const kind = input.kind ?? 'files';
      if (!KINDS.includes(kind)) throw new CatalogError('INVALID_REQUEST', `${what}: unknown kind '${String(kind)}'`);
      if (input.id !== undefined && !validId(input.id)) throw new CatalogError('INVALID_REQUEST', `${what}: id '${input.id}' is not a uuid`);
      return ctx.run(what, async (m) => {
        const ds: DataSourceRecord = {
          id: input.id ?? randomUUID(),
          agentId: input.agentId,
          name: input.name,
          kind,
          paths: [...input.paths],
          includes: [...(input.includes ?? [])],
          excludes: [...(input.excludes ?? [])],
          createdAt: ctx.clock.now(),
          groupId: null,
        };
        await m.insert(E, ds);
        return ds;
      });
    },

    getDataSource: async (id) => (validId(id) ? ctx.run(`get data source ${id}`, (m) => m.findOneBy(E, { id })) : null),

    getDataSourceByName: (agentId, name) =>
      ctx.run(`get data source '${name}' of agent ${agentId}`, (m) => m.findOneBy(E, { agentId, name })),

    listDataSources: (agentId) =>
      ctx.run('list data sources', (m) =>
        m.find(E, { where: agentId !== undefined ? { agentId } : {}, order: { createdAt: 'ASC', name: 'ASC' } }),
      ),

    updateDataSource: async (id, patch) => {
      const what = `update data source ${id}`;
      for (const f of ['paths', 'includes', 'excludes'] as const) {
        if (patch[f] !== undefined) checkStrings(what, f, patch[f]);
      }
      if (!validId(id)) return null;
      const fields = definedOnly({ name: patch.name, paths: patch.paths, includes: patch.includes, excludes: patch.excludes });
      return ctx.atomic(what, async (m) => {
        if (Object.keys(fields).length > 0) await m.update(E, { id }, fields);
        return m.findOneBy(E, { id });
      });
    },

    deleteDataSource: async (id) =>
      validId(id) ? ctx.run(`delete data source ${id}`, async (m) => affected(await m.delete(E, { id }))) : false,
  };
}
