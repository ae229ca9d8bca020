/**
 * Claiming a store directory at open: check (or create) its FORMAT file,
 * take the LOCK (one process per store; stale if its pid is gone), create the
 * sub-directories, empty tmp/ and give a new store its empty manifest.
 */
import { promises as fsp } from 'node:fs';
import { writeFileDurable } from '../util/durable.js';
import { errnoCode, StoreFormatError, StoreLockedError, toStoreError } from './errors.js';
import { STORE_FORMAT_NAME, STORE_FORMAT_VERSION } from './format.js';
import type { Layout } from './layout.js';
import { emptyManifest, writeManifest } from './manifest.js';

const openHere = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

/** Returns true for a new (empty) store directory. */
async function checkFormat(L: Layout): Promise<boolean> {
  let text: string;
  try {
    text = await fsp.readFile(L.formatFile, 'utf8');
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw toStoreError(err, L.dir, 'reading FORMAT');
    const hasPacks = await fsp.access(L.packsDir).then(() => true, () => false);
    if (hasPacks) throw new StoreFormatError(L.dir, 'FORMAT', 'missing, but the directory holds packs');
    return true;
  }
  let f: { format?: unknown; version?: unknown };
  try {
    f = JSON.parse(text) as typeof f;
  } catch {
    throw new StoreFormatError(L.dir, 'FORMAT', 'not valid JSON');
  }
  if (f.format !== STORE_FORMAT_NAME) throw new StoreFormatError(L.dir, 'FORMAT', 'not a Strata chunk store');
  if (f.version !== STORE_FORMAT_VERSION) throw new StoreFormatError(L.dir, 'FORMAT', `unsupported version ${String(f.version)}`);
  return false;
}

async function lock(L: Layout): Promise<() => Promise<void>> {
  if (openHere.has(L.dir)) throw new StoreLockedError(L.dir, 'already open in this process');
  let holder: number | undefined;
  try {
    holder = parseInt(await fsp.readFile(L.lockFile, 'utf8'), 10);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  if (holder && holder !== process.pid && alive(holder)) throw new StoreLockedError(L.dir, `held by process ${holder}`);
  await fsp.writeFile(L.lockFile, `${process.pid}\n`);
  openHere.add(L.dir);
  return async () => {
    openHere.delete(L.dir);
    await fsp.rm(L.lockFile, { force: true });
  };
}

/**
 * Check, lock and prepare `L.dir`. Returns the unlock function and whether
 * the index manifest is missing from an existing store (index lost: rebuild).
 */
export async function claimStoreDir(L: Layout): Promise<{ unlock: () => Promise<void>; lostIndex: boolean }> {
  await fsp.mkdir(L.dir, { recursive: true });
  const isNew = await checkFormat(L);
  const unlock = await lock(L);
  try {
    if (isNew) {
      await fsp.mkdir(L.indexDir, { recursive: true });
      await writeManifest(L.manifestFile, emptyManifest());
      await writeFileDurable(L.formatFile, Buffer.from(`${JSON.stringify({ format: STORE_FORMAT_NAME, version: STORE_FORMAT_VERSION })}\n`));
    }
    for (const d of [L.packsDir, L.refsDir, L.pendingDir]) await fsp.mkdir(d, { recursive: true });
    await fsp.rm(L.tmpDir, { recursive: true, force: true });
    const lostIndex = !(await fsp.access(L.manifestFile).then(() => true, () => false));
    return { unlock, lostIndex };
  } catch (err) {
    await unlock();
    throw err;
  }
}
