/**
 * Vault targets as the API and CLI give them (`{kind, …backend settings}`),
 * checked with vault/backends' validateVaultConfig, and as the API shows
 * them: secrets never leave the server, each is replaced by `<name>Set: true`.
 */
import path from 'node:path';
import type { JsonObject, Vault, VaultRedundancy, VaultTarget } from '../catalog/index.js';
import { invalid } from '../errors.js';
import { isVaultError, validateVaultConfig, type VaultBackendConfig } from '../vault/backends/index.js';

/** Fields of a backend config that are secrets (a connection string carries the account key). */
export const SECRET_FIELDS = ['accountKey', 'sasToken', 'connectionString', 'secretAccessKey', 'sessionToken'] as const;

/** Vault names become folder names under the data dir. */
export function checkVaultName(v: unknown): string {
  if (typeof v !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(v)) {
    throw invalid('vault name must be 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit');
  }
  return v;
}

/**
 * Checks one target (`{kind, …}`); a local target without `path` gets
 * `defaultPath`. Returns it in the catalog's form (kind beside config).
 */
export function parseTarget(raw: unknown, field: string, defaultPath?: string): VaultTarget {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(`${field} must be an object {kind, …}`);
  const t = { ...(raw as Record<string, unknown>) };
  if (t.kind === undefined) t.kind = 'local';
  if (t.kind === 'local') {
    if (t.path === undefined) {
      if (!defaultPath) throw invalid(`${field}.path is required for a local target`);
      t.path = defaultPath;
    }
    if (typeof t.path !== 'string' || !path.isAbsolute(t.path) || t.path.includes('\0')) {
      throw invalid(`${field}.path must be an absolute folder path on the server`);
    }
    t.path = path.normalize(t.path);
  }
  let c: VaultBackendConfig;
  try {
    c = validateVaultConfig(t);
  } catch (err) {
    if (isVaultError(err, 'invalid')) throw invalid(`${field}: ${err.message}`);
    throw err;
  }
  const { kind, ...config } = c as unknown as Record<string, unknown> & { kind: VaultTarget['kind'] };
  return { kind, config: config as JsonObject };
}

/** The backend config of a stored target (what openVaultBackend takes). */
export function backendConfig(t: VaultTarget): VaultBackendConfig {
  return validateVaultConfig({ ...t.config, kind: t.kind });
}

export function parseRedundancy(v: unknown, hasSecondary: boolean): VaultRedundancy {
  if (v === undefined) return hasSecondary ? 'GRS' : 'LRS';
  if (v !== 'LRS' && v !== 'ZRS' && v !== 'GRS') throw invalid(`redundancy must be LRS, ZRS or GRS (got ${JSON.stringify(v)})`);
  if (v === 'LRS' && hasSecondary) throw invalid('redundancy LRS means one target: drop the secondary, or use GRS / ZRS');
  if (v !== 'LRS' && !hasSecondary) throw invalid(`redundancy ${v} needs a secondary target`);
  return v;
}

/** A target with its secrets replaced by `<field>Set: true`. */
export function redactTarget(t: VaultTarget): Record<string, unknown> {
  const out: Record<string, unknown> = { kind: t.kind };
  for (const [k, v] of Object.entries(t.config)) {
    if ((SECRET_FIELDS as readonly string[]).includes(k)) out[`${k}Set`] = true;
    else out[k] = v;
  }
  return out;
}

/** A vault as the API shows it: no secret anywhere. */
export function publicVault(v: Vault): Record<string, unknown> {
  const { kind, ...primary } = redactTarget({ kind: v.kind, config: v.config });
  return {
    id: v.id, name: v.name, kind, config: primary, secondary: v.secondary ? redactTarget(v.secondary) : null,
    redundancy: v.redundancy, softDeleteDays: v.softDeleteDays, immutable: v.immutable, vaultUid: v.vaultUid,
    state: v.state, createdAt: v.createdAt,
  };
}
