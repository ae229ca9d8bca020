/**
 * What the vault holds, kept on the server's disk so an upload need not list
 * the vault (docs/vault-format.md §7): `known-chunks.log`, an append-only log
 * of the index payloads of every pack whose index object is durable in the
 * vault, and `known-chunks.dirty`, present while an upload runs. Everything
 * here can be rebuilt from the vault's index objects.
 *
 * Memory: one map entry per chunk (~120 bytes); see §10 for the limit.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { fsyncDir, writeFileDurable } from '../util/durable.js';
import { VaultCorruptError } from './errors.js';
import { KNOWN_HEADER_SIZE, KNOWN_MAGIC, KNOWN_RECORD_MAGIC, KNOWN_VERSION, ObjectType } from './format.js';
import { type BlobEntry, decodeIndex, type PackIndex } from './index-format.js';
import { indexKey, isPackId } from './pack-format.js';
import type { Vault } from './vault.js';

export interface KnownLocation extends Omit<BlobEntry, 'id'> {
  packId: string;
}

interface Loc {
  pack: number;
  offset: number;
  length: number;
  rawSize: number;
  compression: number;
}

const MAX_RECORD = 64 << 20;

function header(vaultId: string): Buffer {
  const h = Buffer.alloc(KNOWN_HEADER_SIZE);
  KNOWN_MAGIC.copy(h, 0);
  h.writeUInt16LE(KNOWN_VERSION, 8);
  Buffer.from(vaultId, 'hex').copy(h, 16);
  return h;
}

function record(payload: Buffer): Buffer {
  const r = Buffer.alloc(8 + payload.length + 4);
  KNOWN_RECORD_MAGIC.copy(r, 0);
  r.writeUInt32LE(payload.length, 4);
  payload.copy(r, 8);
  r.writeUInt32LE(crc32(r.subarray(0, 8 + payload.length)), 8 + payload.length);
  return r;
}

export class KnownChunks {
  private readonly map = new Map<string, Loc>();
  private readonly packIds: string[] = [];
  private readonly packSet = new Set<string>();
  private fh: fsp.FileHandle | undefined;
  private appendChain: Promise<void> = Promise.resolve();
  private dirty = false;
  /** Bumped by replace(): a sync that started before a replace adds nothing (it may have seen packs a prune deletes). */
  private generation = 0;
  private epochValue = '';
  private active = 0;
  /** The log may lack packs the vault has (previous upload interrupted, or no log yet): list `index/` before trusting it. */
  needsSync = false;

  private constructor(readonly dir: string, readonly vaultId: string) {}

  get file(): string {
    return path.join(this.dir, 'known-chunks.log');
  }

  get epochFile(): string {
    return path.join(this.dir, 'known-chunks.epoch');
  }

  /**
   * The prune epoch of the vault (its `pruned` object, §8.11) this log was
   * last made consistent with; '' when none. An upload that finds another
   * epoch in the vault rebuilds the log first.
   */
  get epoch(): string {
    return this.epochValue;
  }

  async setEpoch(epoch: string): Promise<void> {
    await writeFileDurable(this.epochFile, epoch, 0o600);
    this.epochValue = epoch;
  }

  get dirtyFile(): string {
    return path.join(this.dir, 'known-chunks.dirty');
  }

  /** Load the log of vault `vaultId` from `dir` (created if missing). A torn tail is cut off. */
  static async open(dir: string, vaultId: string): Promise<KnownChunks> {
    const k = new KnownChunks(path.resolve(dir), vaultId);
    await fsp.mkdir(k.dir, { recursive: true });
    const data = await fsp.readFile(k.file).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    const h = header(vaultId);
    let good = 0;
    if (data && data.length >= KNOWN_HEADER_SIZE && data.subarray(0, KNOWN_HEADER_SIZE).equals(h)) {
      good = KNOWN_HEADER_SIZE;
      while (good + 12 <= data.length) {
        if (!data.subarray(good, good + 4).equals(KNOWN_RECORD_MAGIC)) break;
        const len = data.readUInt32LE(good + 4);
        if (len > MAX_RECORD || good + 8 + len + 4 > data.length) break;
        if (crc32(data.subarray(good, good + 8 + len)) !== data.readUInt32LE(good + 8 + len)) break;
        const ix = decodeIndex(data.subarray(good + 8, good + 8 + len));
        if (typeof ix === 'string') break;
        k.remember(ix);
        good += 12 + len;
      }
    }
    if (good === 0) {
      await writeFileDurable(k.file, h, 0o600);
      good = KNOWN_HEADER_SIZE;
      k.needsSync = true;
    }
    k.fh = await fsp.open(k.file, 'r+');
    if (data && good < data.length) {
      // A torn or damaged record: its pack (and any after it) is in the vault but no longer here.
      await k.fh.truncate(good);
      await k.fh.datasync();
      k.needsSync = true;
    }
    k.epochValue = (await fsp.readFile(k.epochFile, 'utf8').catch(() => '')).trim();
    if (await fsp.access(k.dirtyFile).then(() => true, () => false)) {
      k.dirty = true;
      k.needsSync = true;
    }
    return k;
  }

  private remember(ix: PackIndex): void {
    if (this.packSet.has(ix.packId)) return;
    const pack = this.packIds.length;
    this.packIds.push(ix.packId);
    this.packSet.add(ix.packId);
    for (const e of ix.entries) {
      const key = e.id.toString('latin1');
      if (!this.map.has(key)) this.map.set(key, { pack, offset: e.offset, length: e.length, rawSize: e.rawSize, compression: e.compression });
    }
  }

  has(id: Buffer): boolean {
    return this.map.has(id.toString('latin1'));
  }

  get(id: Buffer): KnownLocation | undefined {
    const l = this.map.get(id.toString('latin1'));
    return l && { packId: this.packIds[l.pack], offset: l.offset, length: l.length, rawSize: l.rawSize, compression: l.compression };
  }

  hasPack(packId: string): boolean {
    return this.packSet.has(packId);
  }

  get chunkCount(): number {
    return this.map.size;
  }

  get packCount(): number {
    return this.packIds.length;
  }

  /** Every known chunk (id hex → location), for comparisons and verification. */
  *entries(): Generator<[string, KnownLocation]> {
    for (const [k, l] of this.map) {
      yield [Buffer.from(k, 'latin1').toString('hex'),
        { packId: this.packIds[l.pack], offset: l.offset, length: l.length, rawSize: l.rawSize, compression: l.compression }];
    }
  }

  /** Record a pack whose index object is durable in the vault (appended and fdatasync'd before it resolves). */
  addPack(indexPayload: Buffer): Promise<void> {
    const ix = decodeIndex(indexPayload);
    if (typeof ix === 'string') return Promise.reject(new Error(`known chunks: refusing a bad index payload: ${ix}`));
    const run = async () => {
      if (this.packSet.has(ix.packId)) return;
      const fh = this.fh!;
      const { size } = await fh.stat();
      const r = record(indexPayload);
      let done = 0;
      while (done < r.length) done += (await fh.write(r, done, r.length - done, size + done)).bytesWritten;
      await fh.datasync();
      this.remember(ix);
    };
    const p = this.appendChain.then(run);
    this.appendChain = p.catch(() => undefined);
    return p;
  }

  /** Before an upload's first PUT: a crash from now on makes the next upload sync with the vault. */
  async markDirty(): Promise<void> {
    if (this.dirty) return;
    await writeFileDurable(this.dirtyFile, '', 0o600);
    this.dirty = true;
  }

  /** An upload starts (uploads may overlap; the dirty marker goes only when the last one ends well). */
  beginUpload(): void {
    this.active++;
  }

  /**
   * An upload ended. After a failure the log may lack a pack whose index
   * reached the vault, so the next upload syncs first; the dirty marker is
   * removed only when no upload runs and none failed since the last sync.
   */
  async endUpload(ok: boolean): Promise<void> {
    this.active = Math.max(0, this.active - 1);
    if (!ok) this.needsSync = true;
    if (this.active > 0 || this.needsSync || !this.dirty) return;
    await fsp.rm(this.dirtyFile, { force: true });
    await fsyncDir(this.dir);
    this.dirty = false;
  }

  /** List `index/` and load the index objects the log lacks. Returns the packs added. */
  async sync(vault: Vault, signal?: AbortSignal): Promise<number> {
    this.checkVault(vault);
    const gen = this.generation;
    let added = 0;
    for (const o of await vault.list('index/', signal)) {
      signal?.throwIfAborted();
      const packId = o.key.slice('index/'.length);
      if (!isPackId(packId) || this.packSet.has(packId)) continue;
      const payload = await readIndex(vault, packId, signal);
      if (gen !== this.generation) return added; // a prune replaced the log meanwhile: what we listed may be gone
      await this.addPack(payload);
      added++;
    }
    this.needsSync = false;
    return added;
  }

  /** Replace the log with the content of every index object in the vault (disaster recovery, lost or doubtful state). */
  async rebuild(vault: Vault, signal?: AbortSignal): Promise<{ packs: number; chunks: number }> {
    this.checkVault(vault);
    const payloads: Buffer[] = [];
    for (const o of await vault.list('index/', signal)) {
      signal?.throwIfAborted();
      const packId = o.key.slice('index/'.length);
      if (isPackId(packId)) payloads.push(await readIndex(vault, packId, signal));
    }
    await this.replace(payloads);
    return { packs: this.packIds.length, chunks: this.map.size };
  }

  /**
   * Replace the log (durably) with exactly these index payloads. Pruning uses
   * it to forget packs before it deletes them: the log may lack packs the
   * vault holds (a sync finds them again), never hold one the vault lacks.
   */
  async replace(payloads: Buffer[]): Promise<void> {
    for (const p of payloads) {
      const ix = decodeIndex(p);
      if (typeof ix === 'string') throw new Error(`known chunks: refusing a bad index payload: ${ix}`);
    }
    this.generation++;
    await this.appendChain;
    await this.fh?.close();
    await writeFileDurable(this.file, [header(this.vaultId), ...payloads.map(record)], 0o600);
    this.map.clear();
    this.packIds.length = 0;
    this.packSet.clear();
    for (const p of payloads) this.remember(decodeIndex(p) as PackIndex);
    this.fh = await fsp.open(this.file, 'r+');
    this.needsSync = false;
  }

  async close(): Promise<void> {
    await this.appendChain;
    await this.fh?.close();
    this.fh = undefined;
  }

  private checkVault(vault: Vault): void {
    if (vault.id !== this.vaultId) throw new Error(`known chunks in ${this.dir} belong to vault ${this.vaultId}, not ${vault.id}`);
  }
}

/** GET, decrypt and check `index/<packId>`; returns its payload. */
export async function readIndex(vault: Vault, packId: string, signal?: AbortSignal): Promise<Buffer> {
  const key = indexKey(packId);
  const payload = await vault.readObject(ObjectType.Index, key, signal);
  const ix = decodeIndex(payload, packId);
  if (typeof ix === 'string') throw new VaultCorruptError(vault.description, key, ix);
  return payload;
}
