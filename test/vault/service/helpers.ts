/**
 * The vault service in-process: a real catalog (SQLite, or PostgreSQL when
 * asked), a real chunk store and data dir in tmp, and a VaultService with
 * short retries. Recovery points are written to the chunk store directly
 * (chunks + ref list) and recorded in the catalog, as a backup would.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { openCatalog, type Catalog, type RecoveryPoint } from '../../../server/src/catalog/index.js';
import { ChunkStore, Compression } from '../../../server/src/chunk-store/index.js';
import { VaultService, type VaultServiceOptions } from '../../../server/src/services/vault-service.js';
import { withPgDatabase } from '../../helpers/pg.js';

export const PASS = 'correct horse battery staple 42';
export const DAY = 86_400_000;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

export function tempDir(prefix = 'strata-vsvc-'): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  cleanups.push(async () => rmSync(d, { recursive: true, force: true }));
  return d;
}

export function onCleanup(fn: () => Promise<void>): void {
  cleanups.push(fn);
}

export interface ServerUnderTest {
  dataDir: string;
  catalog: Catalog;
  store: ChunkStore;
  vaults: VaultService;
  clock: { now(): Date; advance(ms: number): void };
  /** Closes service, store and catalog (done after the test anyway). */
  close(): Promise<void>;
}

/** A fresh "server": empty data dir, empty catalog. */
export async function server(o: { engine?: 'sqlite' | 'postgres'; service?: Partial<VaultServiceOptions> } = {}): Promise<ServerUnderTest> {
  const dataDir = tempDir();
  const pg = o.engine === 'postgres' ? await withPgDatabase() : null;
  const catalog = await openCatalog(pg ? { databaseUrl: pg.url } : { dataDir });
  const store = await ChunkStore.open(path.join(dataDir, 'chunks'), { packTargetSize: 1 << 20 });
  let t = Date.parse('2026-11-25T14:00:00Z');
  const clock = { now: () => new Date(t), advance: (ms: number) => void (t += ms) };
  const vaults = new VaultService({
    catalog, store, dataDir, clock,
    vaultOptions: { retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 } },
    upload: { packSize: 64 << 10, retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 } },
    ...o.service,
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await vaults.close();
    await store.close();
    await catalog.close();
    await pg?.drop();
  };
  cleanups.push(close);
  return { dataDir, catalog, store, vaults, clock, close };
}

export const sha = (b: Buffer) => createHash('sha256').update(b).digest();

/**
 * A recovery point of `n` random chunks (some shared with `shared`), stored
 * in the chunk store with its ref list and recorded in the catalog on disk.
 * Returns the point and its chunks' raw bytes by hex hash.
 */
export async function backupPoint(s: ServerUnderTest, o: { n?: number; size?: number; shared?: Map<string, Buffer>; source?: string; createdAt?: Date; parent?: string } = {}) {
  const agent = (await s.catalog.getAgentByName('fileserver')) ?? (await s.catalog.createAgent({ name: 'fileserver', hostname: 'fs01', publicKey: 'k' }));
  const name = o.source ?? 'docs';
  const source = (await s.catalog.getDataSourceByName(agent.id, name))
    ?? (await s.catalog.createDataSource({ agentId: agent.id, name, paths: [`/srv/${name}`], excludes: ['*.tmp'] }));
  const raws = new Map<string, Buffer>(o.shared ?? []);
  for (let i = 0; i < (o.n ?? 24); i++) {
    const raw = i % 3 === 0 ? Buffer.alloc(o.size ?? 8 << 10, `text ${randomBytes(4).toString('hex')} `) : randomBytes(o.size ?? 8 << 10);
    raws.set(sha(raw).toString('hex'), raw);
  }
  for (const [hex, raw] of raws) await s.store.put({ hash: Buffer.from(hex, 'hex'), compression: Compression.None, rawSize: raw.length, data: raw });
  await s.store.flush();
  const id = randomUUID();
  const hashes = [...raws.keys()].map((h) => Buffer.from(h, 'hex'));
  await s.store.refs.write(id, hashes);
  const point: RecoveryPoint = await s.catalog.createRecoveryPoint({
    id, agentId: agent.id, dataSourceId: source.id, jobId: randomUUID(), root: [hashes[0]!.toString('hex')],
    files: raws.size, dirs: 1, bytes: [...raws.values()].reduce((a, b) => a + b.length, 0), bytesAdded: 1,
    parentPointId: o.parent ?? null, createdAt: o.createdAt ?? s.clock.now(),
  });
  return { point, raws };
}

export function localTarget(dir = tempDir('strata-vtarget-')) {
  return { kind: 'local', path: dir };
}
