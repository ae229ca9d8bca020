/** Shared fixtures for chunk store tests: temp dirs and chunk makers. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { compress } from 'zstd-napi';
import { afterEach } from 'vitest';
import { type ChunkIn, Compression } from '../../server/src/chunk-store/index.js';
import type { PackWriteFn } from '../../server/src/chunk-store/types.js';

const dirs: string[] = [];

/** A fresh temp directory, removed after the test. */
export function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'strata-store-'));
  dirs.push(d);
  return d;
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

export function sha(b: Buffer): Buffer {
  return createHash('sha256').update(b).digest();
}

/** Compressible bytes derived from `seed` (distinct seeds give distinct chunks). */
export function textBytes(seed: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  const head = `chunk-${seed}-`;
  for (let i = 0; i < size; i++) b[i] = i < head.length ? head.charCodeAt(i) : 97 + ((i * 31 + seed) % 7);
  return b;
}

export function rawChunk(data: Buffer): ChunkIn {
  return { hash: sha(data), compression: Compression.None, rawSize: data.length, data };
}

export function zstdChunk(data: Buffer): ChunkIn {
  return { hash: sha(data), compression: Compression.Zstd, rawSize: data.length, data: compress(data) };
}

export function randomChunk(size = 1024): ChunkIn {
  return rawChunk(randomBytes(size));
}

/**
 * A pack write that fails as a full disk does (ENOSPC) while `full` is set,
 * and writes normally otherwise. (Injected: filling a real file system in a
 * test is neither safe nor portable.)
 */
export function fillingDisk(): { full: boolean; packWrite: PackWriteFn } {
  const disk = {
    full: false,
    packWrite: async (fd: number, buf: Buffer, pos: number) => {
      if (disk.full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });
      writeSync(fd, buf, 0, buf.length, pos);
    },
  };
  return disk;
}
