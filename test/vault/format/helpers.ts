/** Shared fixtures for the vault format tests: temp dirs, a real local-folder backend, a fault-injecting wrapper, a small real chunk store. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { compress } from 'zstd-napi';
import { afterEach } from 'vitest';
import { ChunkStore, Compression, type ChunkIn } from '../../../server/src/chunk-store/index.js';
import { type ByteRange, type PutOptions, type VaultBackend } from '../../../server/src/vault/backends/backend.js';
import { FaultyBackend as SharedFaultyBackend } from '../../../server/src/vault/backends/faulty.js';
import { LocalFolderBackend } from '../../../server/src/vault/backends/local-folder.js';
import { createVault, KnownChunks, openVault, type Vault, type VaultKeyFile } from '../../../server/src/vault/index.js';

export const PASS = 'correct horse battery staple 42';

const dirs: string[] = [];
const closers: (() => Promise<void>)[] = [];

export function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'strata-vault-'));
  dirs.push(d);
  return d;
}

/** Run after the test (before the temp dirs go). */
export function onCleanup(fn: () => Promise<void>): void {
  closers.push(fn);
}

afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

export async function localBackend(dir = tempDir()): Promise<LocalFolderBackend> {
  return LocalFolderBackend.open({ path: dir });
}

export function sha(b: Buffer): Buffer {
  return createHash('sha256').update(b).digest();
}

/**
 * The backends' shared fault-injecting wrapper (server/src/vault/backends/faulty.ts),
 * plus what these tests assert on: the keys of the PUTs that landed, in order,
 * and the ranges of the GETs.
 */
export class FaultyBackend extends SharedFaultyBackend {
  readonly puts: string[] = [];
  readonly gets: { key: string; range?: ByteRange }[] = [];

  override async put(key: string, data: Buffer | Uint8Array, opts?: PutOptions): Promise<void> {
    await super.put(key, data, opts);
    this.puts.push(key);
  }

  override async get(key: string, range?: ByteRange): Promise<Buffer> {
    this.gets.push({ key, range });
    return super.get(key, range);
  }

  /** PUTs of the format's objects (lease objects under locks/ left out). */
  dataPuts(): string[] {
    return this.puts.filter((k) => !k.startsWith('locks/'));
  }

  packPuts(): string[] {
    return this.puts.filter((k) => k.startsWith('packs/'));
  }

  /** The (k+1)-th PUT from now fails once with `kind`, before it reaches the target or after it landed (lost answer). */
  failPut(k: number, o: { kind?: 'io' | 'unreachable'; when?: 'before' | 'after' } = {}): void {
    // Lease objects (locks/) are not counted: the tests count the format's own PUTs.
    this.inject({ ops: ['put'], key: /^(?!locks\/)/, skip: k, times: 1, kind: o.kind ?? 'io', when: o.when ?? 'before' });
  }
}

/** A real chunk store in a temp dir. */
export async function openStore(): Promise<ChunkStore> {
  const s = await ChunkStore.open(tempDir(), { packTargetSize: 1 << 20 });
  onCleanup(() => s.close());
  return s;
}

/** Random (incompressible) or text-like (compressible) chunk, stored raw or zstd as an agent would send it. */
export function makeChunk(size: number, opts: { compressible?: boolean; zstd?: boolean } = {}): { raw: Buffer; chunk: ChunkIn } {
  let raw: Buffer;
  if (opts.compressible) {
    const seed = randomBytes(8).toString('hex');
    raw = Buffer.alloc(size, `${seed} the quick brown fox `);
  } else raw = randomBytes(size);
  const chunk: ChunkIn = opts.zstd
    ? { hash: sha(raw), compression: Compression.Zstd, rawSize: raw.length, data: compress(raw) }
    : { hash: sha(raw), compression: Compression.None, rawSize: raw.length, data: raw };
  return { raw, chunk };
}

/** Put chunks into the store, flush, write the point's ref list; returns the raw bytes by hex hash. */
export async function addPoint(store: ChunkStore, pointId: string, chunks: { raw: Buffer; chunk: ChunkIn }[]): Promise<Map<string, Buffer>> {
  const m = new Map<string, Buffer>();
  for (const c of chunks) {
    await store.put(c.chunk);
    m.set(c.chunk.hash.toString('hex'), c.raw);
  }
  await store.flush();
  await store.refs.write(pointId, chunks.map((c) => c.chunk.hash));
  return m;
}

export async function refsOf(store: ChunkStore, pointId: string): Promise<Buffer[]> {
  const r = await store.refs.open(pointId);
  try {
    return [...r.iterate()];
  } finally {
    r.close();
  }
}

export function pointInput(id: string, root: Buffer[]) {
  return { id, dataSourceId: 'ds-1', agentId: 'agent-1', createdAt: new Date('2026-11-25T10:00:00Z'), root: root.map((h) => h.toString('hex')) };
}

/** Flip one bit of the object at `key` (through the backend, so the object stays the same size). */
export async function flipByte(b: VaultBackend, key: string, at: number): Promise<void> {
  const data = await b.get(key);
  data[at < 0 ? data.length + at : at] ^= 0x40;
  await b.put(key, data);
}

/** A clock whose sleeps return at once, recording the waits. */
export function fastClock() {
  const waits: number[] = [];
  let t = Date.parse('2026-11-25T14:00:00Z');
  return {
    waits,
    now: () => t,
    sleep: async (ms: number) => {
      waits.push(ms);
      t += ms;
    },
  };
}

let template: Promise<{ config: Buffer; key: VaultKeyFile }> | undefined;

/**
 * An empty vault on a fresh local-folder backend, opened with a saved key.
 * The scrypt work (~1 s here) is done once per test file: every vault shares
 * one template config and master key.
 */
export async function freshVault(wrap?: (b: VaultBackend) => VaultBackend): Promise<{ vault: Vault; backend: VaultBackend; local: LocalFolderBackend }> {
  template ??= (async () => {
    const v = await createVault(await localBackend(), PASS);
    return { config: await v.backend.get('config'), key: v.exportKey() };
  })();
  const t = await template;
  const local = await localBackend();
  await local.put('config', t.config);
  const backend = wrap ? wrap(local) : local;
  return { vault: await openVault(backend, { key: t.key }, { clock: fastClock() }), backend, local };
}

export async function openKnown(vault: Vault, dir = tempDir()): Promise<KnownChunks> {
  const k = await KnownChunks.open(dir, vault.id);
  onCleanup(() => k.close());
  return k;
}
