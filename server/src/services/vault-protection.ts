/**
 * The vault's protections as Azure Backup has them, as pure checks the
 * policy routes and the vault service call:
 *
 * - with soft delete or immutability on any vault, an online policy's
 *   retention may not go below Azure Backup's minimums: 7 daily points (days),
 *   4 weekly, 3 monthly, 1 yearly;
 * - an immutable vault forbids shortening retention before points expire:
 *   a policy change may not lower a rule's count nor drop a rule.
 */
import type { Vault } from '../catalog/index.js';
import { StrataError } from '../errors.js';
import type { OnlinePolicySpec, OnlineRetention } from '../retention/policy.js';

/** Azure Backup's minimum count of each GFS rule when soft delete or immutability is on. */
export const PROTECTED_RETENTION_MINIMUMS = { daily: 7, weekly: 4, monthly: 3, yearly: 1 } as const;
const UNIT = { daily: 'days', weekly: 'weeks', monthly: 'months', yearly: 'year' } as const;
const RULES = ['daily', 'weekly', 'monthly', 'yearly'] as const;

export class RetentionRefusedError extends StrataError {
  constructor(message: string) {
    super('RETENTION_BELOW_MINIMUM', message, 'invalid');
    this.name = 'RetentionRefusedError';
  }
}

/** Which protections are on among these vaults (for messages). */
function protections(vaults: readonly Vault[]): { soft: Vault[]; immutable: Vault[] } {
  return { soft: vaults.filter((v) => v.softDeleteDays > 0), immutable: vaults.filter((v) => v.immutable) };
}

/**
 * Throws RetentionRefusedError (400, exit 2) when `spec` may not be used with
 * these vaults: below the minimums while any has soft delete or
 * immutability on, or (with `previous`, the policy's current spec) shorter
 * than before while any vault is immutable. Call it from POST / PATCH
 * /policies with `await catalog.listVaults()`.
 */
export function checkOnlineRetentionAllowed(spec: OnlinePolicySpec, vaults: readonly Vault[], previous?: OnlinePolicySpec): void {
  const { soft, immutable } = protections(vaults);
  if (soft.length || immutable.length) {
    const why = immutable.length ? `vault '${immutable[0]!.name}' is immutable` : `soft delete is on for vault '${soft[0]!.name}'`;
    for (const rule of RULES) {
      const r = spec.retention[rule];
      // A weekly schedule's daily rule holds nothing (retention/policy.ts), so it is not held to a minimum.
      if (!r || (rule === 'daily' && spec.schedule.frequency === 'weekly')) continue;
      const min = PROTECTED_RETENTION_MINIMUMS[rule];
      if (r.count < min) {
        throw new RetentionRefusedError(
          `retention.${rule}.count must be at least ${min} ${UNIT[rule]} while ${why} (Azure Backup's minimums: 7 days, 4 weeks, 3 months, 1 year); got ${r.count}`);
      }
    }
  }
  if (previous && immutable.length) {
    const shorter = shortened(previous.retention, spec.retention);
    if (shorter) {
      throw new RetentionRefusedError(
        `vault '${immutable[0]!.name}' is immutable: retention cannot be shortened before points expire (${shorter})`);
    }
  }
}

function shortened(before: OnlineRetention, after: OnlineRetention): string | null {
  for (const rule of RULES) {
    const b = before[rule];
    if (!b) continue;
    const a = after[rule];
    if (!a) return `the ${rule} rule would be removed`;
    if (a.count < b.count) return `retention.${rule}.count ${b.count} -> ${a.count}`;
  }
  return null;
}

export class VaultImmutableError extends StrataError {
  constructor(vault: string, what: string) {
    super('VAULT_IMMUTABLE', `vault '${vault}' is immutable: ${what}`, 'invalid');
    this.name = 'VaultImmutableError';
    Object.assign(this, { httpStatus: 409 });
  }
}
