/** Shared fixtures for chunk store tests: temp dirs and chunk makers. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { compress } from 'zstd-napi';
import { afterEach } from 'vitest';
import { type ChunkIn, Compression } from '../../server/src/chunk-store/index.js';

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
