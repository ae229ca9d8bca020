/** Vaults: the long-term tier's targets (a local folder until cloud backends arrive). */
import { randomUUID } from 'node:crypto';
import type { VaultOps } from '../catalog.js';
import type { RepoContext } from '../context.js';
import { CatalogError } from '../errors.js';
import { VAULT_KINDS, type Vault } from '../types.js';
import { checkName, oneOf, validId } from './util.js';

export function vaultOps(ctx: RepoContext): VaultOps {
  const E = ctx.entities.vault;
  return {
    createVault: async (input) => {
      const what = `create vault '${input.name}'`;
      checkName(what, input.name);
      const kind = input.kind ?? 'local';
      oneOf(what, 'kind', kind, VAULT_KINDS);
      if (typeof input.config?.path !== 'string' || input.config.path === '') {
        throw new CatalogError('INVALID_REQUEST', `${what}: config.path must be a non-empty string`);
      }
      return ctx.run(what, async (m) => {
        const vault: Vault = { id: randomUUID(), name: input.name, kind, config: { path: input.config.path }, createdAt: ctx.clock.now() };
        await m.insert(E, vault);
        return vault;
      });
    },

    getVault: async (id) => (validId(id) ? ctx.run(`get vault ${id}`, (m) => m.findOneBy(E, { id })) : null),

    getVaultByName: (name) => ctx.run(`get vault '${name}'`, (m) => m.findOneBy(E, { name })),

    listVaults: () => ctx.run('list vaults', (m) => m.find(E, { order: { createdAt: 'ASC', name: 'ASC' } })),
  };
}
