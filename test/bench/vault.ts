/**
 * The vault tier of Strata, after the common phases (restic and borg have no
 * second tier). For each target (vault-targets.ts), through the real CLI:
 *   vault create → upload the full backup's point (`vault upload full`) →
 *   upload the newest point (`vault upload incr`: only what the 1% change
 *   added) → prune the newest point (its disk copy goes, location 'both' →
 *   'vault') and gc → restore it, now read from the vault (`restore from
 *   vault`), verified against the source like the common restore.
 * A point lives in one vault at a time, so before the next target the full
 * point's online copy is deleted (soft delete off: purged, the point is back
 * on disk only) and one more backup of the unchanged source makes a newest
 * point on disk again; neither is timed. Every target stays up until the end.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dataset } from './dataset.js';
import { run } from './measure.js';
import type { Job, StrataSession } from './tools/strata.js';
import { compareManifests, manifest, type Manifest } from './tree.js';
import { openVaultTarget, type BenchVault, type VaultTarget } from './vault-targets.js';

export const VAULT_PHASES = ['vault upload full', 'vault upload incr', 'restore from vault'] as const;
export type VaultPhase = (typeof VAULT_PHASES)[number];

export interface VaultMetrics {
  wallS: number;
  /** Source bytes of the point (restore: restored bytes) ÷ wall time, in MB/s. */
  mbps: number;
  /** Upload: the job result's bytesSent (compressed, encrypted, with pack and index overhead); restore: null. */
  sentBytes: number | null;
  /** What the vault holds after the phase. */
  vaultBytes: number;
  /** The server's chunk store (DATA/chunks) after the phase. */
  storeBytes: number;
  /** vaultBytes ÷ storeBytes after the uploads; null for the restore (gc has shrunk the store). */
  vaultPerStore: number | null;
  /** CPU seconds of the server daemon during the phase (the upload and the vault reads run in it). */
  serverCpuS: number;
  /** Distinct chunks the point references (the upload job's result); a restore from the vault makes one ranged GET per chunk. */
  chunks: number | null;
  /** CPU seconds of the target's own process during the phase (Azurite); null for a local folder. */
  targetCpuS: number | null;
  rssServerKiB: number | null;
}

/** One run's vault figures: target → phase → metrics. */
export type VaultRun = Partial<Record<VaultTarget, Partial<Record<VaultPhase, VaultMetrics>>>>;

export interface VaultRecord {
  run: VaultRun;
  /** Why a target failed, or a restore that differs from the source. */
  failures: string[];
}

/** Not a secret: the bench's vaults are thrown away with its work folder. */
const PASSPHRASE = 'strata bench vault passphrase, not a secret';
const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;
const oneLine = (e: unknown): string => ((e as Error).message ?? String(e)).replace(/\s+/g, ' ').slice(0, 600);

interface Point { id: string; bytes: number; location: string }

export async function runVaultPhases(session: StrataSession, ds: Dataset, targets: readonly VaultTarget[], log: (m: string) => void, rec: VaultRecord): Promise<void> {
  const expected = await manifest(ds.root);
  // Every target stays up until the end: freeing a point for the next vault deletes its copy in the previous one.
  const opened: BenchVault[] = [];
  try {
    for (const target of targets) {
      const t = `vault ${target}`;
      try {
        await freePoints(session, (m) => log(`${t}: ${m}`));
        const vault = await openVaultTarget(target, session.workDir);
        opened.push(vault);
        await session.cli(['vault', 'create', vault.name, ...vault.createArgs, '--soft-delete-days', '0', '--json'], { STRATA_VAULT_PASSPHRASE: PASSPHRASE });
        log(`${t}: vault ${vault.name} created (${vault.createArgs.slice(0, 2).join(' ')})`);
        const phases: Partial<Record<VaultPhase, VaultMetrics>> = (rec.run[target] = {});
        const full = session.points[0]!;
        const newest = session.points.at(-1)!;
        phases['vault upload full'] = await upload(session, vault, full, (m) => log(`${t}: vault upload full: ${m}`));
        const incr = (phases['vault upload incr'] = await upload(session, vault, newest, (m) => log(`${t}: vault upload incr: ${m}`)));
        const restored = await restoreFromVault(session, vault, newest, incr.chunks ?? undefined, ds.root, expected, (m) => log(`${t}: restore from vault: ${m}`));
        phases['restore from vault'] = restored.metrics;
        if (restored.diffs.length) rec.failures.push(`${t}: restore from the vault differs from the source: ${restored.diffs.join('; ')}`);
        log(`${t}: ${restored.diffs.length ? `RESTORE FROM VAULT DIFFERS: ${restored.diffs.join('; ')}` : `restore from vault verified, ${expected.size} files identical`}`);
      } catch (e) {
        rec.failures.push(`${t}: ${oneLine(e)}`);
        log(`${t}: FAILED: ${oneLine(e)}`);
      }
    }
  } finally {
    for (const v of opened) await v.close();
  }
}

async function upload(session: StrataSession, vault: BenchVault, pointId: string, log: (m: string) => void): Promise<VaultMetrics> {
  const point = await getPoint(session, pointId);
  await run('sync', []);
  const cpu0 = { server: session.serverCpuS(), target: vault.cpuS() };
  const { out, wallS } = await session.cli<{ job: Job }>(['vault', 'upload', vault.name, pointId, '--wait', '--json']);
  const serverCpuS = session.serverCpuS() - cpu0.server;
  const targetCpuS = cpuDelta(vault.cpuS(), cpu0.target);
  const sample = session.sample(wallS, out.job);
  const result = out.job.result ?? {};
  if (result.alreadyInVault) throw new Error(`point ${pointId} was already in vault ${vault.name}: nothing was timed`);
  const sentBytes = Number(result.bytesSent ?? out.job.bytesSent);
  const [vaultBytes, storeBytes] = [await vault.bytes(), await session.storeBytes()];
  log(`${wallS.toFixed(2)} s for point ${pointId} (${mb(point.bytes)} of source), sent ${mb(sentBytes)} in ${String(result.packsSent)} packs, ${String(result.chunksSent)} of ${String(result.chunks)} chunks sent; vault ${mb(vaultBytes)}, store ${mb(storeBytes)} (${sample.detail}${targetCpuNote(targetCpuS)})`);
  return { wallS, mbps: point.bytes / 1e6 / wallS, sentBytes, vaultBytes, storeBytes, vaultPerStore: vaultBytes / storeBytes, chunks: Number(result.chunks) || null, serverCpuS, targetCpuS, rssServerKiB: sample.rssServerKiB };
}

/** Drops the point's disk copy (it stays in the vault), gc, then a timed restore + sync from the vault. */
async function restoreFromVault(session: StrataSession, vault: BenchVault, pointId: string, chunks: number | undefined, source: string, expected: Manifest, log: (m: string) => void): Promise<{ metrics: VaultMetrics; diffs: string[] }> {
  const pruned = await session.cli<{ job: Job }>(['prune', pointId, '--json']);
  const action = pruned.out.job.result?.action;
  if (action !== 'disk-copy-dropped') throw new Error(`prune ${pointId} did not just drop the disk copy (action ${String(action)})`);
  const gc = await session.cli<{ job: Job }>(['gc', '--json']);
  const point = await getPoint(session, pointId);
  if (point.location !== 'vault') throw new Error(`point ${pointId} is '${point.location}' after prune, not 'vault' only`);
  log(`point ${pointId} is in the vault only; gc removed ${String(gc.out.job.result?.chunksRemoved)} chunks, store now ${mb(await session.storeBytes())}`);
  const target = join(session.workDir, `restore-vault-${vault.target}`);
  await rm(target, { recursive: true, force: true });
  await run('sync', []);
  const cpu0 = { server: session.serverCpuS(), target: vault.cpuS() };
  const { out, wallS: restoreS } = await session.cli<{ job: Job }>(['restore', pointId, '--to', target, '--wait', '--json']);
  const flush = await run('sync', []);
  const wallS = restoreS + flush.wallS;
  const serverCpuS = session.serverCpuS() - cpu0.server;
  const targetCpuS = cpuDelta(vault.cpuS(), cpu0.target);
  const sample = session.sample(wallS, out.job);
  const [vaultBytes, storeBytes] = [await vault.bytes(), await session.storeBytes()];
  // The vault reader reads each agent request as one batch (neighbouring blobs of a pack in one ranged GET, services/vault-restore.ts).
  const gets = chunks ? `, ${chunks} chunks, ${(chunks / restoreS).toFixed(0)} per s (read in batches: neighbouring blobs of a pack share one ranged GET)` : '';
  log(`${wallS.toFixed(2)} s (restore ${restoreS.toFixed(2)} s + sync ${flush.wallS.toFixed(2)} s) of ${mb(point.bytes)}${gets} (${sample.detail}${targetCpuNote(targetCpuS)})`);
  const restored = await manifest(join(target, source.replace(/^\/+/, ''))).catch((e: Error) => new Map([['<restore root>', e.message]]));
  const diffs = compareManifests(expected, restored);
  await rm(target, { recursive: true, force: true });
  return { metrics: { wallS, mbps: point.bytes / 1e6 / wallS, sentBytes: null, vaultBytes, storeBytes, vaultPerStore: null, chunks: chunks ?? null, serverCpuS, targetCpuS, rssServerKiB: sample.rssServerKiB }, diffs };
}

/**
 * Readies the points for a fresh vault (a point is in one vault at a time):
 * the full point's online copy in a previous vault is deleted (soft delete is
 * off: purged, the point is on disk only again), and when the newest point is
 * only in a vault, a backup of the unchanged source makes a newest point on
 * disk. Nothing to do before the first target.
 */
async function freePoints(session: StrataSession, log: (m: string) => void): Promise<void> {
  const full = session.points[0]!;
  if ((await getPoint(session, full)).location !== 'disk') {
    await session.cli(['vault', 'delete-point', full, '--json']);
    const p = await getPoint(session, full);
    if (p.location !== 'disk') throw new Error(`point ${full} is '${p.location}' after its online copy was deleted, not 'disk'`);
    log(`the online copy of the full point ${full} in the previous vault is deleted`);
  }
  const newest = session.points.at(-1)!;
  if ((await getPoint(session, newest)).location !== 'disk') {
    const s = await session.backup();
    log(`the newest point ${newest} is in the previous vault only: a backup of the unchanged source made ${session.points.at(-1)} in ${s.wallS.toFixed(2)} s (not timed as a phase)`);
  }
}

const cpuDelta = (now: number | null, before: number | null): number | null => (now === null || before === null ? null : now - before);
const targetCpuNote = (s: number | null): string => (s === null ? '' : `, Azurite ${s.toFixed(2)} s`);

async function getPoint(session: StrataSession, id: string): Promise<Point> {
  const { out } = await session.cli<Point[]>(['points', 'list', '--json']);
  const p = out.find((x) => x.id === id);
  if (!p) throw new Error(`recovery point ${id} is not in strata points list`);
  return { id, bytes: Number(p.bytes), location: p.location };
}
