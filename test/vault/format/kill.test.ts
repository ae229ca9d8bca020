/**
 * A real crash: the uploading process is SIGKILLed mid-upload (packs, index
 * objects and the known-chunks log in whatever state the kill left them). A
 * rerun in another process completes; no pack that was complete (indexed)
 * at the kill is sent again, and no point existed before the rerun.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ChunkStore } from '../../../server/src/chunk-store/index.js';
import { KnownChunks, saveVaultKey, uploadPoint, VaultReader } from '../../../server/src/vault/index.js';
import { addPoint, FaultyBackend, freshVault, makeChunk, onCleanup, pointInput, refsOf, tempDir } from './helpers.js';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'upload-child.ts');

describe('upload killed with SIGKILL', () => {
  it('resumes in a new process without resending complete packs', async () => {
    const storeDir = tempDir();
    let store = await ChunkStore.open(storeDir, { packTargetSize: 1 << 20 });
    const raws = await addPoint(store, 'p1', Array.from({ length: 96 }, () => makeChunk(8 << 10)));
    await store.close();
    const { vault, local, backend } = await freshVault((b) => new FaultyBackend(b));
    const stateDir = tempDir();
    const keyFile = path.join(tempDir(), 'vault-key.json');
    await saveVaultKey(keyFile, vault.exportKey());

    const proc = spawn(process.execPath, ['--import', 'tsx', child, storeDir, local.root, stateDir, keyFile], {
      cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    proc.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (/packs [4-9]/.test(out)) resolve();
        if (out.includes('done')) reject(new Error('the upload finished before the kill'));
      });
      void exited.then(() => reject(new Error(`child exited early: ${err}`)));
    });
    proc.kill('SIGKILL');
    await exited;

    const fresh = await KnownChunks.open(tempDir(), vault.id);
    onCleanup(() => fresh.close());
    const reader = new VaultReader(vault, fresh);
    expect(await reader.pointIds()).toEqual([]);
    const indexed = new Set<string>();
    for await (const o of local.list('index/')) indexed.add(o.key.slice(6));
    expect(indexed.size).toBeGreaterThanOrEqual(4);

    store = await ChunkStore.open(storeDir);
    onCleanup(() => store.close());
    const known = await KnownChunks.open(stateDir, vault.id);
    onCleanup(() => known.close());
    const fb = backend as FaultyBackend;
    const r = await uploadPoint({ vault, known, store, point: pointInput('p1', []), refs: await refsOf(store, 'p1'), packSize: 32 << 10 });
    const resent = fb.packPuts().map((k) => k.split('/')[2]);
    expect(resent.filter((p) => indexed.has(p))).toEqual([]);
    expect(r.chunksSent + r.chunksSkipped).toBe(96);
    expect(r.chunksSkipped).toBeGreaterThanOrEqual(indexed.size * 3);
    expect(await reader.pointIds()).toEqual(['p1']);
    for (const [hex, raw] of raws) expect((await reader.readChunk(Buffer.from(hex, 'hex'))).equals(raw)).toBe(true);
  });
});
