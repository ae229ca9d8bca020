/**
 * Vaults: the long-term tier's targets (primary and optional secondary) and
 * their protections. The backend settings are stored as JSON objects; only a
 * minimal shape is checked here (the vault service validates them fully with
 * vault/backends' validateVaultConfig before it stores them).
 */
import { randomUUID } from 'node:crypto';
import type { VaultOps } from '../catalog.js';
import type { RepoContext } from '../context.js';
import { CatalogError } from '../errors.js';
import type { VaultRow } from '../schema/entities.js';
import {
  DEFAULT_SOFT_DELETE_DAYS, VAULT_KINDS, VAULT_REDUNDANCIES, VAULT_STATES, type JsonObject, type Vault, type VaultKind, type VaultTarget,
} from '../types.js';
import { affected, checkName, definedOnly, jsonObject, oneOf, validId } from './util.js';

/** The one field each kind cannot do without (the rest is the backend's to check). */
const REQUIRED: Record<VaultKind, string> = { local: 'path', azure: 'container', s3: 'bucket' };

function target(what: string, field: string, kind: unknown, config: unknown): VaultTarget {
  oneOf(what, `${field}kind`, kind, VAULT_KINDS);
  const c = jsonObject(what, `${field}config`, config);
  const need = REQUIRED[kind];
  if (typeof c[need] !== 'string' || c[need] === '') {
    throw new CatalogError('INVALID_REQUEST', `${what}: ${field}config.${need} must be a non-empty string`);
  }
  delete c.kind;
  return { kind, config: c as JsonObject };
}

function days(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new CatalogError('INVALID_REQUEST', `${what}: softDeleteDays must be a whole number of days, 0 or more (got ${String(v)})`);
  }
  return v;
}

const toVault = (r: VaultRow | null): Vault | null => (r ? (r as unknown as Vault) : null);

export function vaultOps(ctx: RepoContext): VaultOps {
  const E = ctx.entities.vault;
  return {
    createVault: async (input) => {
      const what = `create vault '${input.name}'`;
      checkName(what, input.name);
      const primary = target(what, '', input.kind ?? 'local', input.config);
      const secondary = input.secondary ? target(what, 'secondary.', input.secondary.kind, input.secondary.config) : null;
      const redundancy = input.redundancy ?? (secondary ? 'GRS' : 'LRS');
      oneOf(what, 'redundancy', redundancy, VAULT_REDUNDANCIES);
      if ((redundancy === 'LRS') !== !secondary) {
        throw new CatalogError('INVALID_REQUEST', secondary
          ? `${what}: redundancy LRS means one target; with a secondary target use GRS or ZRS`
          : `${what}: redundancy ${redundancy} needs a secondary target`);
      }
      const state = input.state ?? 'ready';
      oneOf(what, 'state', state, VAULT_STATES);
      if (input.immutable !== undefined && typeof input.immutable !== 'boolean') throw new CatalogError('INVALID_REQUEST', `${what}: immutable must be true or false`);
      const vault: Vault = {
        id: randomUUID(), name: input.name, kind: primary.kind, config: primary.config, secondary, redundancy,
        softDeleteDays: days(what, input.softDeleteDays ?? DEFAULT_SOFT_DELETE_DAYS), immutable: input.immutable ?? false,
        vaultUid: input.vaultUid ?? null, state, createdAt: ctx.clock.now(),
      };
      return ctx.run(what, async (m) => {
        await m.insert(E, { ...vault } as never);
        return vault;
      });
    },

    getVault: async (id) => (validId(id) ? toVault(await ctx.run(`get vault ${id}`, (m) => m.findOneBy(E, { id }))) : null),

    getVaultByName: async (name) => toVault(await ctx.run(`get vault '${name}'`, (m) => m.findOneBy(E, { name }))),

    listVaults: async () =>
      (await ctx.run('list vaults', (m) => m.find(E, { order: { createdAt: 'ASC', name: 'ASC' } }))) as unknown as Vault[],

    updateVault: async (id, patch) => {
      const what = `update vault ${id}`;
      if (!validId(id)) return null;
      if (patch.state !== undefined) oneOf(what, 'state', patch.state, VAULT_STATES);
      if (patch.softDeleteDays !== undefined) days(what, patch.softDeleteDays);
      if (patch.immutable !== undefined && typeof patch.immutable !== 'boolean') throw new CatalogError('INVALID_REQUEST', `${what}: immutable must be true or false`);
      const changes = definedOnly({ state: patch.state, vaultUid: patch.vaultUid, softDeleteDays: patch.softDeleteDays, immutable: patch.immutable });
      return ctx.atomic(what, async (m) => {
        if (Object.keys(changes).length && !affected(await m.update(E, { id }, changes))) return null;
        return toVault(await m.findOneBy(E, { id }));
      });
    },

    deleteVault: async (id) =>
      validId(id) ? ctx.run(`delete vault ${id}`, async (m) => affected(await m.delete(E, { id }))) : false,
  };
}
