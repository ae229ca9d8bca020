/** Shared set-up for the agent's backup/restore unit tests (real disk in tmp dirs, FakeStore for the network). */
import fs from 'node:fs';
import path from 'node:path';
import tmp from 'tmp';
import { runBackup, type BackupCounters, type BackupResult, type BackupTuning } from '../../agent/src/backup/index.js';
import { runRestore, type RestoreOptions } from '../../agent/src/restore/index.js';
import { FakeStore } from './fake-store.js';

export const MiB = 1024 * 1024;

export function workDir(prefix: string): { dir: string; cleanup: () => void } {
  const t = tmp.dirSync({ unsafeCleanup: true, prefix: `strata-agent-${prefix}-` });
  fs.chmodSync(t.name, 0o755);
  return { dir: fs.realpathSync(t.name), cleanup: () => t.removeCallback() };
}

export interface BackupRun { result: BackupResult; last: BackupCounters; progress: BackupCounters[] }

export async function backup(
  store: FakeStore, paths: string[], cacheDir: string,
  o: { parent?: string; includes?: string[]; excludes?: string[]; tuning?: Partial<BackupTuning>; onProgress?: (c: BackupCounters) => void; signal?: AbortSignal } = {},
): Promise<BackupRun> {
  const progress: BackupCounters[] = [];
  const result = await runBackup({
    cmd: { jobId: 'job', dataSourceId: 'ds', paths, includes: o.includes ?? [], excludes: o.excludes ?? [], parentPointId: o.parent ?? '' },
    cacheDir, uplink: store.uplink(), signal: o.signal, tuning: o.tuning,
    onProgress: (c) => { progress.push(c); o.onProgress?.(c); },
  });
  return { result, last: progress.at(-1)!, progress };
}

export function restore(store: FakeStore, root: Buffer[], target: string, o: Partial<RestoreOptions> = {}) {
  return runRestore({ root, target, paths: [], overwrite: false, downlink: store.downlink(), ...o });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Names (bytes, latin1-keyed) directly in `dir`. */
export function listDir(dir: string): string[] {
  return fs.readdirSync(dir, { encoding: 'buffer' }).map((b) => b.toString('latin1')).sort();
}

export const at = (...p: string[]) => path.join(...p);
