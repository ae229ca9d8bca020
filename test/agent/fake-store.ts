/**
 * An in-memory stand-in for the network and the server's chunk store, for the
 * agent's unit tests: it answers BackupUplink.query/send and
 * RestoreDownlink.fetch the way the server does (per-agent "have" answers,
 * chunks checked on arrival, chunks returned as stored). The end-to-end tests
 * (test/e2e) run the real server and WebSocket link instead.
 */
import { Compression, encodeTree, type Chunk, type Tree } from '@strata/protocol';
import { compress, decompress } from 'zstd-napi';
import type { BackupUplink } from '../../agent/src/backup/index.js';
import type { RestoreDownlink } from '../../agent/src/restore/index.js';
import { chunkBuffer } from '../../agent/src/chunker/index.js';
import { sha256 } from '../../agent/src/util/hash.js';

export class FakeStore {
  readonly chunks = new Map<string, Chunk>();
  /** Every hash queried and every chunk sent, in order, since the last reset(). */
  queried: Buffer[] = [];
  sent: Chunk[] = [];
  fetched = 0;

  reset(): void {
    this.queried = [];
    this.sent = [];
    this.fetched = 0;
  }

  get sentHashes(): Set<string> {
    return new Set(this.sent.map((c) => Buffer.from(c.hash).toString('hex')));
  }

  uplink(): BackupUplink {
    return {
      query: async (hashes) => {
        if (hashes.length === 0 || hashes.length > 4096) throw new Error(`query of ${hashes.length} hashes`);
        await Promise.resolve();
        this.queried.push(...hashes);
        return hashes.map((h) => this.chunks.has(h.toString('hex')));
      },
      send: async (chunk) => {
        const raw = chunk.compression === Compression.Zstd ? decompress(chunk.data) : Buffer.from(chunk.data);
        if (raw.length !== chunk.rawSize) throw new Error('raw size mismatch');
        if (!sha256(raw).equals(Buffer.from(chunk.hash))) throw new Error('chunk rejected: hash mismatch');
        const copy = { ...chunk, hash: Buffer.from(chunk.hash), data: Buffer.from(chunk.data) };
        this.sent.push(copy);
        this.chunks.set(Buffer.from(chunk.hash).toString('hex'), copy);
      },
    };
  }

  downlink(): RestoreDownlink {
    return {
      fetch: async (hashes) => {
        if (hashes.length === 0 || hashes.length > 4096) throw new Error(`fetch of ${hashes.length} hashes`);
        await Promise.resolve();
        this.fetched += hashes.length;
        return hashes.map((h) => {
          const c = this.chunks.get(h.toString('hex'));
          if (!c) throw new Error(`chunk ${h.toString('hex')} not found`);
          return c;
        });
      },
    };
  }

  /** Stores raw bytes as one chunk (zstd when asked); returns its hash. */
  put(raw: Buffer, zstd = false): Buffer {
    const hash = sha256(raw);
    const data = zstd ? compress(raw) : raw;
    this.chunks.set(hash.toString('hex'), { hash, compression: zstd ? Compression.Zstd : Compression.None, rawSize: raw.length, data });
    return hash;
  }

  /** Stores a Tree (hand-made, e.g. hostile) the way the agent would; returns its chunk hashes. */
  putTree(tree: Tree): Buffer[] {
    return chunkBuffer(Buffer.from(encodeTree(tree))).map((c) => this.put(Buffer.from(c)));
  }

  /** Flips one byte of a stored chunk's data (the hash stays): a damaged store. */
  corrupt(hash: Buffer): void {
    const c = this.chunks.get(hash.toString('hex'))!;
    const data = Buffer.from(c.data);
    data[data.length >> 1] ^= 0x55;
    this.chunks.set(hash.toString('hex'), { ...c, data });
  }
}
