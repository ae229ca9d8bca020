/**
 * The vault verify job (`strata vault verify`, POST /vaults/:id/verify): runs
 * the library's verifyVault (server/src/vault/verify.ts) on each target of a
 * vault **separately**. The mirrored vault reads the secondary whenever the
 * primary lacks an object or fails (MirroredBackend, FallbackReader), so a
 * verify through it would hide damage on one side: here each target gets
 * its own library Vault over that backend alone, with the same keys.
 *
 * Besides what verifyVault checks (every index, every pack and blob, every
 * point's chunks), each target must hold the vault's `config` and the
 * manifest of every online copy the catalog records, and with two targets
 * each must hold every index the other holds: a target renamed away or
 * emptied lists nothing, and would otherwise look clean.
 *
 * The job holds a read (VaultService.acquireRead) while it runs, so vault
 * pruning does not rewrite packs under it. Damage raises the alert
 * `vault-damaged:<vault id>`; the next clean verify that read the data
 * resolves it (a --quick verify reads no blob, so it cannot clear it).
 */
import type { Catalog, Job } from '../catalog/index.js';
import type { JobService } from '../jobs/job-service.js';
import type { LiveProgress } from '../jobs/progress.js';
import { Vault, verifyVault, type VaultDamage, type VaultVerifyResult } from '../vault/index.js';
import { isVaultError, type VaultBackend } from '../vault/backends/index.js';
import { asStrataError } from './vault-input.js';
import type { OpenVault, VaultService } from './vault-service.js';

/** Damage entries kept per target in the job's result (the count is always exact). */
export const DAMAGE_LISTED = 100;

export type VerifyTarget = 'primary' | 'secondary';

export interface TargetReport extends VaultVerifyResult {
  target: VerifyTarget;
  /** Where the target is (never a secret). */
  where: string;
  /** All damage entries found (`damaged` holds the first DAMAGE_LISTED). */
  damagedCount: number;
  /** Distinct objects (keys) damaged. */
  damagedObjects: number;
  /** Set when the target could not be read through (unreachable, refused): its counts are partial. */
  unreadable?: string;
}

export interface VaultVerifyReport {
  vault: string;
  vaultId: string;
  readData: boolean;
  /** The primary's counts (the secondary holds a copy of the same vault). */
  packs: number;
  chunks: number;
  points: number;
  /** Damage on every target, each entry naming its target; the first DAMAGE_LISTED. */
  damaged: (VaultDamage & { target: VerifyTarget })[];
  damagedObjects: number;
  /** Targets that could not be read through: the verify failed without a full report of them. */
  unreadable: VerifyTarget[];
  targets: Partial<Record<VerifyTarget, TargetReport>>;
}

export interface VerifyRunOptions {
  readData?: boolean;
  signal?: AbortSignal;
  /** Called as packs are checked, with the totals over the targets done so far. */
  onProgress?: (p: { target: VerifyTarget; packs: number; chunks: number; damaged: number }) => void;
}

/** Verify every target of a vault, one after the other. Holds a read on the vault meanwhile. */
export async function verifyVaultTargets(vaults: VaultService, ref: string, o: VerifyRunOptions = {}): Promise<VaultVerifyReport> {
  const rec = await vaults.get(ref);
  const hold = await vaults.acquireRead(rec.id);
  try {
    const h = await vaults.open(rec.id);
    const online = (await vaults.listPoints(rec.id, 'all')).map((p) => p.pointId);
    const sides: [VerifyTarget, VaultBackend][] = [['primary', h.primary], ...(h.secondary ? [['secondary', h.secondary] as [VerifyTarget, VaultBackend]] : [])];
    const indexes = new Map<VerifyTarget, Set<string>>();
    const tallies = new Map<VerifyTarget, Tally>();
    for (const [target, backend] of sides) {
      o.signal?.throwIfAborted();
      const tally = new Tally(target, backend.description);
      tallies.set(target, tally);
      try {
        indexes.set(target, await verifyTarget(h, backend, tally, online, o));
      } catch (err) {
        // One dead target does not keep the other from being verified (a drill while a region is down).
        if (o.signal?.aborted) throw err;
        tally.report.unreadable = err instanceof Error ? err.message : String(err);
      }
    }
    // Two targets: an index one holds and the other lacks is damage on the other (its pack was never copied, or
    // was lost). An upload running meanwhile writes the secondary first: what is missing is looked for once more.
    if (indexes.size === 2) {
      const backendOf = new Map(sides);
      for (const [a, b] of [['primary', 'secondary'], ['secondary', 'primary']] as const) {
        for (const key of indexes.get(b)!) {
          if (indexes.get(a)!.has(key) || (await backendOf.get(a)!.head(key).catch(() => null))) continue;
          tallies.get(a)!.note({ key, reason: `missing on the ${a}: the ${b} holds it` });
        }
      }
    }
    const targets: VaultVerifyReport['targets'] = Object.fromEntries([...tallies].map(([t, x]) => [t, x.report]));
    const all = Object.values(targets);
    const primary = targets.primary!;
    return {
      vault: rec.name, vaultId: rec.id, readData: o.readData !== false,
      packs: primary.packs, chunks: primary.chunks, points: primary.points,
      damaged: all.flatMap((t) => t.damaged.map((d) => ({ ...d, target: t.target }))).slice(0, DAMAGE_LISTED),
      damagedObjects: all.reduce((n, t) => n + t.damagedObjects, 0),
      unreadable: all.filter((t) => t.unreadable).map((t) => t.target),
      targets,
    };
  } catch (err) {
    throw asStrataError(err);
  } finally {
    hold.release();
  }
}

/** One target's report as it fills: the first DAMAGE_LISTED entries, exact counts. */
class Tally {
  readonly report: TargetReport;
  private readonly keys = new Set<string>();

  constructor(target: VerifyTarget, where: string) {
    this.report = { target, where, packs: 0, chunks: 0, points: 0, damaged: [], damagedCount: 0, damagedObjects: 0 };
  }

  note(d: VaultDamage): void {
    const r = this.report;
    r.damagedCount++;
    if (r.damaged.length < DAMAGE_LISTED) r.damaged.push(d);
    if (!this.keys.has(d.key)) {
      this.keys.add(d.key);
      r.damagedObjects++;
    }
  }
}

/** Verify one target into `tally`; returns the keys of its index objects. Throws when the target cannot be read. */
async function verifyTarget(h: OpenVault, backend: VaultBackend, tally: Tally, online: string[], o: VerifyRunOptions): Promise<Set<string>> {
  const target = tally.report.target;
  // The library Vault over this backend alone: same config and keys, the open vault's retries and clock.
  const vault = new Vault(backend, h.vault.config, h.vault.keys, { retry: h.vault.retry, clock: h.vault.clock });
  const config = await backend.head('config').catch((err: unknown) => {
    if (isVaultError(err, 'not-found')) return null;
    throw err;
  });
  if (!config) tally.note({ key: 'config', reason: `missing: ${backend.description} holds no vault` });
  const r = await verifyVault(vault, h.known, {
    readData: o.readData, signal: o.signal,
    onProgress: (p) => o.onProgress?.({ target, ...p }),
  });
  Object.assign(tally.report, { packs: r.packs, chunks: r.chunks, points: r.points });
  for (const d of r.damaged) tally.note(d);
  const manifests = new Set((await vault.list('points/', o.signal)).map((x) => x.key));
  for (const id of online) if (!manifests.has(`points/${id}`)) tally.note({ key: `points/${id}`, reason: 'missing: the catalog records this online copy' });
  return new Set((await vault.list('index/', o.signal)).map((x) => x.key));
}

/** What the job's errorMessage says about a damaged vault. */
export function damageSummary(r: VaultVerifyReport): string {
  const parts: string[] = [];
  for (const t of Object.values(r.targets)) if (t.unreadable) parts.push(`the ${t.target} cannot be read: ${t.unreadable}`);
  if (r.damagedObjects) {
    const per = Object.values(r.targets).filter((t) => t.damagedObjects).map((t) => `${t.damagedObjects} on the ${t.target}`).join(', ');
    const first = r.damaged[0];
    parts.push(`${r.damagedObjects} damaged object${r.damagedObjects === 1 ? '' : 's'} (${per})`
      + (first ? `; first: ${first.key}${first.chunk ? ` chunk ${first.chunk}` : ''} on the ${first.target}: ${first.reason}` : ''));
  }
  return `vault '${r.vault}': ${parts.join('; ')}`;
}

/**
 * Start a 'verify' job of a vault (params `{vault, readData}`). Progress:
 * `filesScanned` counts chunks checked, `filesChanged` packs checked (over
 * the targets), `currentPath` the target being read. Ends 'succeeded' with the
 * report, or 'failed' with it and an errorMessage counting the damage; a
 * cancel (the job's AbortSignal) ends it 'cancelled'.
 */
export async function startVaultVerify(d: { jobs: JobService; vaults: VaultService; catalog: Catalog }, ref: string, o: { readData?: boolean } = {}): Promise<Job> {
  const rec = await d.vaults.get(ref);
  const readData = o.readData !== false;
  return d.jobs.startServerJob('verify', { vault: rec.name, readData }, async (progress: LiveProgress, signal) => {
    let before = { packs: 0, chunks: 0 };
    let side: VerifyTarget = 'primary';
    const report = await verifyVaultTargets(d.vaults, rec.id, {
      readData, signal,
      onProgress: (p) => {
        if (p.target !== side) {
          side = p.target;
          before = { packs: progress.filesChanged, chunks: progress.filesScanned };
        }
        progress.currentPath = p.target;
        progress.filesScanned = before.chunks + p.chunks;
        progress.filesChanged = before.packs + p.packs;
      },
    });
    const result = report as unknown as Record<string, unknown>;
    if (report.damagedObjects) await raiseDamaged(d.catalog, report);
    // An unreadable target fails the verify too, but is no damage found: it raises no vault-damaged alert.
    if (report.damagedObjects || report.unreadable.length) return { state: 'failed', result, errorMessage: damageSummary(report) };
    if (readData) await d.catalog.resolveAlert(`vault-damaged:${report.vaultId}`);
    return { state: 'succeeded', result };
  });
}

async function raiseDamaged(catalog: Catalog, r: VaultVerifyReport): Promise<void> {
  await catalog.raiseAlert({
    key: `vault-damaged:${r.vaultId}`, kind: 'vault-damaged', severity: 'error',
    subject: `Vault '${r.vault}' is damaged`,
    message: `A verify of vault '${r.vault}' found: ${damageSummary(r).replace(/^vault '[^']*': /, '')}.`
      + (r.targets.secondary ? ' Restores read the other target where it holds a sound copy.' : ' Restores of the points concerned will fail.')
      + ` Run strata vault verify ${r.vault} again once it is repaired: a clean verify resolves this alert.`,
    details: { vaultId: r.vaultId, vaultName: r.vault, damagedObjects: r.damagedObjects, damaged: r.damaged.slice(0, 10) } as never,
  });
}
