/** Online policies: when to send points to the vault and the GFS rules for keeping them (spec as JSON). */
import { randomUUID } from 'node:crypto';
import type { OnlinePolicyOps } from '../catalog.js';
import type { RepoContext } from '../context.js';
import { CatalogError } from '../errors.js';
import type { OnlinePolicyRow } from '../schema/entities.js';
import type { OnlinePolicy } from '../types.js';
import { affected, checkName, jsonObject, validId } from './util.js';

// The row's spec is a parsed JSON object; the loosened row type exists only for TypeORM.
const asPolicy = (row: OnlinePolicyRow | null) => row as OnlinePolicy | null;

export function onlinePolicyOps(ctx: RepoContext): OnlinePolicyOps {
  const E = ctx.entities.onlinePolicy;
  const G = ctx.entities.protectionGroup;
  return {
    createOnlinePolicy: async (input) => {
      const what = `create online policy '${input.name}'`;
      checkName(what, input.name);
      const spec = jsonObject(what, 'spec', input.spec);
      return ctx.run(what, async (m) => {
        const now = ctx.clock.now();
        const policy: OnlinePolicyRow = { id: randomUUID(), name: input.name, spec, createdAt: now, updatedAt: now };
        await m.insert(E, policy as never);
        return policy as OnlinePolicy;
      });
    },

    getOnlinePolicy: async (id) =>
      validId(id) ? ctx.run(`get online policy ${id}`, async (m) => asPolicy(await m.findOneBy(E, { id }))) : null,

    getOnlinePolicyByName: (name) =>
      ctx.run(`get online policy '${name}'`, async (m) => asPolicy(await m.findOneBy(E, { name }))),

    listOnlinePolicies: () =>
      ctx.run('list online policies', async (m) => (await m.find(E, { order: { createdAt: 'ASC', name: 'ASC' } })) as OnlinePolicy[]),

    updateOnlinePolicy: async (id, patch) => {
      const what = `update online policy ${id}`;
      if (patch.name !== undefined) checkName(what, patch.name);
      const fields: Partial<OnlinePolicyRow> = {};
      if (patch.name !== undefined) fields.name = patch.name;
      if (patch.spec !== undefined) fields.spec = jsonObject(what, 'spec', patch.spec);
      if (!validId(id)) return null;
      return ctx.atomic(what, async (m) => {
        if (!(await m.existsBy(E, { id }))) return null;
        await m.update(E, { id }, { ...fields, updatedAt: ctx.clock.now() } as never);
        return asPolicy(await m.findOneBy(E, { id }));
      });
    },

    deleteOnlinePolicy: async (id) => {
      if (!validId(id)) return false;
      return ctx.atomic(`delete online policy ${id}`, async (m) => {
        const policy = await m.findOneBy(E, { id });
        if (!policy) return false;
        // The foreign key would refuse too; checking first lets the message name the groups.
        const users = await m.find(G, { where: { onlinePolicyId: id }, order: { name: 'ASC' } });
        if (users.length) {
          throw new CatalogError(
            'IN_USE',
            `online policy '${policy.name}' is used by protection group${users.length > 1 ? 's' : ''} ${users.map((g) => `'${g.name}'`).join(', ')}`,
          );
        }
        return affected(await m.delete(E, { id }));
      });
    },
  };
}
