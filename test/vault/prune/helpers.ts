/**
 * Fixtures for the prune tests: three points uploaded to a real local-folder
 * vault from a real chunk store, laid out so that deleting p1 leaves one pack
 * dead, one below the 0.5 threshold and one above it:
 *
 *   p1 = A0..A11          → packs PA1 (A0-3), PA2 (A4-7), PA3 (A8-11)
 *   p2 = A0..A2 + B0..B7  → PB1 (B0-3), PB2 (B4-7)
 *   p3 = A8 + B4 + C0..C3 → PC1 (C0-3)
 *
 * After p1 goes: PA1 is 3/4 live (kept), PA2 dead (deleted), PA3 1/4 live
 * (rewritten: A8 copied into a new pack), PB*, PC1 fully live.
 */
import { cpSync } from 'node:fs';
import { expect } from 'vitest';
import { LocalFolderBackend } from '../../../server/src/vault/backends/local-folder.js';
import type { VaultBackend } from '../../../server/src/vault/backends/backend.js';
import {
  findOrphanPacks, KnownChunks, openVault, uploadPoint, type Vault, type VaultKeyFile, VaultReader, verifyVault,
} from '../../../server/src/vault/index.js';
import {
  addPoint, fastClock, freshVault, makeChunk, onCleanup, openKnown, openStore, pointInput, tempDir,
} from '../format/helpers.js';

export const PACK = 32 << 10;

export interface Fixture {
  vault: Vault;
  local: LocalFolderBackend;
  known: KnownChunks;
  stateDir: string;
  key: VaultKeyFile;
  /** Raw bytes by hex SHA-256, per point. */
  raws: Record<'p1' | 'p2' | 'p3', Map<string, Buffer>>;
  /** Pack ids by name (PA1, PA2, PA3, PB1, PB2, PC1). */
  packs: Record<string, string>;
  store: Awaited<ReturnType<typeof openStore>>;
  upload(id: string): Promise<void>;
}

export async function threePoints(): Promise<Fixture> {
  const store = await openStore();
  const mk = (n: number) => Array.from({ length: n }, () => makeChunk(8 << 10));
  const A = mk(12);
  const B = mk(8);
  const C = mk(4);
  // The order of the refs decides which chunks share a pack (the store's own ref lists are sorted by hash).
  const order: Record<string, ReturnType<typeof mk>> = { p1: A, p2: [...A.slice(0, 3), ...B], p3: [A[8], B[4], ...C] };
  const raws = {
    p1: await addPoint(store, 'p1', order.p1),
    p2: await addPoint(store, 'p2', order.p2),
    p3: await addPoint(store, 'p3', order.p3),
  };
  const { vault, local } = await freshVault();
  const stateDir = tempDir();
  const known = await openKnown(vault, stateDir);
  const upload = async (id: string) => {
    await uploadPoint({ vault, known, store, point: pointInput(id, []), refs: order[id].map((c) => c.chunk.hash), packSize: PACK, concurrency: 1 });
  };
  for (const id of ['p1', 'p2', 'p3']) await upload(id);
  const packOf = (c: { chunk: { hash: Buffer } }) => known.get(vault.chunkId(c.chunk.hash))!.packId;
  const packs = { PA1: packOf(A[0]), PA2: packOf(A[4]), PA3: packOf(A[8]), PB1: packOf(B[0]), PB2: packOf(B[4]), PC1: packOf(C[0]) };
  expect(new Set(Object.values(packs)).size).toBe(6);
  expect(known.packCount).toBe(6);
  return { vault, local, known, stateDir, key: vault.exportKey(), raws, packs, upload, store };
}

/** A copy of the fixture's vault folder and state dir, opened afresh (a wrapper may go around the backend). */
export async function copyOf(f: Fixture, wrap?: (b: VaultBackend) => VaultBackend) {
  const root = tempDir();
  cpSync(f.local.root, root, { recursive: true });
  const stateDir = tempDir();
  cpSync(f.stateDir, stateDir, { recursive: true });
  const local = await LocalFolderBackend.open({ path: root });
  const backend = wrap ? wrap(local) : local;
  const clock = fastClock();
  const vault = await openVault(backend, { key: f.key }, { clock, retry: { attempts: 2 } });
  return { vault, backend, local, stateDir, clock };
}

export async function packIds(vault: Vault): Promise<string[]> {
  return (await vault.list('index/')).map((o) => o.key.slice('index/'.length)).sort();
}

/** Every chunk of every given point reads back byte-identical through a VaultReader on `known`. */
export async function expectReadable(vault: Vault, known: KnownChunks, points: Map<string, Buffer>[], why = ''): Promise<void> {
  const reader = new VaultReader(vault, known);
  for (const m of points) {
    for (const [hex, raw] of m) {
      const got = await reader.readChunk(Buffer.from(hex, 'hex'));
      expect(got.equals(raw), `${why} chunk ${hex.slice(0, 12)}`).toBe(true);
    }
  }
}

/** verifyVault reports nothing, the given points are listed, and no pack lacks its index. */
export async function expectClean(vault: Vault, known: KnownChunks, points: string[], why = ''): Promise<void> {
  const v = await verifyVault(vault, known);
  expect(v.damaged, why).toEqual([]);
  expect(await new VaultReader(vault, known).pointIds(), why).toEqual(points);
  expect(await findOrphanPacks(vault), why).toEqual([]);
}

export async function knownIn(vault: Vault, dir: string): Promise<KnownChunks> {
  const k = await KnownChunks.open(dir, vault.id);
  onCleanup(() => k.close());
  return k;
}
