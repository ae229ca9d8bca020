/**
 * The prune epoch (docs/vault-format.md §8.11): `pruned`, a small plaintext
 * JSON object holding a random id that every prune replaces before it
 * deletes any pack. A server's known-chunks log remembers the epoch it was
 * made consistent with; an upload that finds another one rebuilds the log
 * from the vault first, so a log written before another server's (or a
 * crashed) prune never makes an upload skip a chunk that was deleted.
 */
import type { KnownChunks } from './known-chunks.js';
import { getIfPresent } from './lease.js';
import type { Vault } from './vault.js';

export const PRUNED_KEY = 'pruned';
export const PRUNED_FORMAT = 'strata-vault-pruned';

export function encodePruned(epoch: string, now: number): Buffer {
  return Buffer.from(JSON.stringify({ format: PRUNED_FORMAT, version: 1, epoch, at: new Date(now).toISOString() }), 'utf8');
}

/** The vault's current prune epoch: '' when it was never pruned; an unreadable object counts as an unknown epoch. */
export async function readPruneEpoch(vault: Vault, signal?: AbortSignal): Promise<string> {
  const data = await getIfPresent(vault, PRUNED_KEY, signal);
  if (!data) return '';
  try {
    const j = JSON.parse(data.toString('utf8')) as { format?: unknown; epoch?: unknown };
    if (j.format === PRUNED_FORMAT && typeof j.epoch === 'string' && /^[0-9a-f]{32}$/.test(j.epoch)) return j.epoch;
  } catch { /* below */ }
  return 'unreadable';
}

/**
 * Before an upload trusts its log (under the upload lease, so no prune runs):
 * rebuild it when the vault was pruned since it was last made consistent.
 * Returns true when it rebuilt.
 */
export async function syncPruneEpoch(vault: Vault, known: KnownChunks, signal?: AbortSignal): Promise<boolean> {
  const epoch = await readPruneEpoch(vault, signal);
  if (epoch === known.epoch) return false;
  await known.rebuild(vault, signal);
  await known.setEpoch(epoch);
  return true;
}
