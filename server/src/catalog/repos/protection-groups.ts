/** Protection groups: data sources sharing one short-term and at most one online policy. */
import { randomUUID } from 'node:crypto';
import type { ProtectionGroupOps } from '../catalog.js';
import type { RepoContext } from '../context.js';
import { CatalogError } from '../errors.js';
import { PROTECTION_STATES, type ProtectionGroup, type ProtectionGroupPatch } from '../types.js';
import { affected, checkName, oneOf, positiveInt, validId } from './util.js';

const NUMBERS = ['syncFrequencyMinutes', 'retentionDays', 'maxPoints'] as const;

function checkFields(what: string, f: ProtectionGroupPatch): void {
  if (f.name !== undefined) checkName(what, f.name);
  for (const n of NUMBERS) if (f[n] !== undefined) positiveInt(what, n, f[n]);
  if (f.state !== undefined) oneOf(what, 'state', f.state, PROTECTION_STATES);
  if (f.onlinePolicyId !== undefined && f.onlinePolicyId !== null && !validId(f.onlinePolicyId)) {
    throw new CatalogError('INVALID_REFERENCE', `${what}: online policy '${String(f.onlinePolicyId)}' does not exist`);
  }
}

export function protectionGroupOps(ctx: RepoContext): ProtectionGroupOps {
  const E = ctx.entities.protectionGroup;
  const S = ctx.entities.dataSource;
  const byAge = { createdAt: 'ASC', name: 'ASC' } as const;
  return {
    createProtectionGroup: async (input) => {
      const what = `create protection group '${input.name}'`;
      checkName(what, input.name);
      for (const n of NUMBERS) positiveInt(what, n, input[n]);
      checkFields(what, input);
      return ctx.run(what, async (m) => {
        const now = ctx.clock.now();
        const group: ProtectionGroup = {
          id: randomUUID(),
          name: input.name,
          syncFrequencyMinutes: input.syncFrequencyMinutes,
          retentionDays: input.retentionDays,
          maxPoints: input.maxPoints,
          onlinePolicyId: input.onlinePolicyId ?? null,
          state: input.state ?? 'active',
          createdAt: now,
          updatedAt: now,
        };
        await m.insert(E, group);
        return group;
      });
    },

    getProtectionGroup: async (id) =>
      validId(id) ? ctx.run(`get protection group ${id}`, (m) => m.findOneBy(E, { id })) : null,

    getProtectionGroupByName: (name) => ctx.run(`get protection group '${name}'`, (m) => m.findOneBy(E, { name })),

    listProtectionGroups: () => ctx.run('list protection groups', (m) => m.find(E, { order: byAge })),

    updateProtectionGroup: async (id, patch) => {
      const what = `update protection group ${id}`;
      checkFields(what, patch);
      if (!validId(id)) return null;
      const fields: ProtectionGroupPatch = {};
      for (const k of ['name', 'onlinePolicyId', 'state', ...NUMBERS] as const) {
        if (patch[k] !== undefined) (fields as Record<string, unknown>)[k] = patch[k];
      }
      return ctx.atomic(what, async (m) => {
        if (!(await m.existsBy(E, { id }))) return null;
        await m.update(E, { id }, { ...fields, updatedAt: ctx.clock.now() });
        return m.findOneBy(E, { id });
      });
    },

    deleteProtectionGroup: async (id) => {
      if (!validId(id)) return false;
      return ctx.atomic(`delete protection group ${id}`, async (m) => {
        // The foreign key says SET NULL too; doing it here keeps the rule visible and engine-independent.
        await m.update(S, { groupId: id }, { groupId: null });
        return affected(await m.delete(E, { id }));
      });
    },

    setDataSourceGroup: async (dataSourceId, groupId) => {
      const what = groupId === null ? `remove data source ${dataSourceId} from its group` : `add data source ${dataSourceId} to protection group ${groupId}`;
      if (groupId !== null && !validId(groupId)) {
        throw new CatalogError('INVALID_REFERENCE', `${what}: no such protection group`);
      }
      if (!validId(dataSourceId)) return null;
      return ctx.atomic(what, async (m) => {
        if (groupId === null) {
          await m.update(S, { id: dataSourceId }, { groupId: null });
          return m.findOneBy(S, { id: dataSourceId });
        }
        if (!(await m.existsBy(E, { id: groupId }))) {
          throw new CatalogError('INVALID_REFERENCE', `${what}: no such protection group`);
        }
        // One conditional UPDATE: of concurrent calls for a free source, only one can take it.
        const r = await m
          .createQueryBuilder()
          .update(S)
          .set({ groupId })
          .where(`"id" = :id AND ("group_id" IS NULL OR "group_id" = :groupId)`, { id: dataSourceId, groupId })
          .execute();
        const source = await m.findOneBy(S, { id: dataSourceId });
        if (!source || affected(r)) return source;
        const other = source.groupId ? await m.findOneBy(E, { id: source.groupId }) : null;
        throw new CatalogError(
          'CONFLICT',
          `data source '${source.name}' is already in protection group '${other?.name ?? source.groupId}': remove it from that group first`,
        );
      });
    },

    listGroupMembers: async (groupId) =>
      validId(groupId)
        ? ctx.run(`list members of protection group ${groupId}`, (m) => m.find(S, { where: { groupId }, order: byAge }))
        : [],
  };
}
