/**
 * The allocator policy both daemons apply at start (agent/native/src/malloc_tune.c):
 * with it, a Buffer of 1 MiB freed and allocated again is recycled inside
 * malloc; without it, glibc maps each one fresh and the kernel takes a page
 * fault for every 4 KiB page touched. Checked in a child process (the policy
 * is process-wide) with glibc's own count of mmapped chunks (mallinfo2).
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type * as Addon from '@strata/native';

const require = createRequire(import.meta.url);
const addon = require('@strata/native') as typeof Addon;
const glibc = !!(process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime;
const MiB = 1024 * 1024;

/**
 * How many chunks a child node's malloc mapped fresh for 20 live Buffers of
 * 4 MiB. (Page faults of a second batch after a gc() are not asserted: V8
 * frees ArrayBuffer memory on a background sweeper thread, so when the first
 * batch is really freed depends on the machine's load.)
 */
function allocate(env: NodeJS.ProcessEnv): { mapped: number; allocator: string } {
  const script = `
    const native = require(${JSON.stringify(require.resolve('@strata/native'))});
    const allocator = native.tuneDaemonAllocator();
    const m0 = native.mallocInfo().mmapChunks;
    const live = [];
    for (let i = 0; i < 20; i++) live.push(Buffer.allocUnsafeSlow(4 << 20).fill(i));
    process.stdout.write(JSON.stringify({ mapped: native.mallocInfo().mmapChunks - m0, allocator }));
  `;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { ...process.env, ...env }, encoding: 'utf8' }));
}

describe('allocator policy (mallocTune)', () => {
  it.runIf(glibc)('is taken by glibc', () => {
    // Applying the daemons' own values here is harmless: the test worker is a Node process like they are.
    expect(addon.mallocTune(addon.MMAP_THRESHOLD, addon.TRIM_THRESHOLD)).toBe(true);
    expect(addon.MMAP_THRESHOLD).toBe(32 * MiB);
    expect(typeof addon.mallocTrim()).toBe('boolean');
  });

  it('rejects arguments that are not sizes', () => {
    expect(() => (addon.mallocTune as (...a: unknown[]) => boolean)(1)).toThrow(/needs 2 arguments/);
    expect(() => (addon.mallocTune as (...a: unknown[]) => boolean)('big', 1)).toThrow(/mmapThreshold/);
  });

  it.runIf(glibc)('serves 4 MiB Buffers from the arenas, where glibc alone maps each fresh (and unmaps it when freed)', () => {
    const tuned = allocate({});
    const plain = allocate({ STRATA_MALLOC_TUNE: '0' });
    expect(tuned.allocator).toBe('mmap threshold 32 MiB, trim threshold 64 MiB');
    expect(plain.allocator).toMatch(/STRATA_MALLOC_TUNE=0/);
    expect(plain.mapped).toBeGreaterThanOrEqual(20);
    expect(tuned.mapped).toBe(0);
    expect(addon.mallocInfo()).toEqual(expect.objectContaining({ arenaBytes: expect.any(Number) }));
  });

  it.runIf(glibc)('mallocTrim hands the recycled memory back to the kernel (what the memory guard does above its limit)', () => {
    const script = `
      const native = require(${JSON.stringify(require.resolve('@strata/native'))});
      native.tuneDaemonAllocator();
      const rssMiB = () => process.memoryUsage.rss() / 1048576;
      let live = [];
      for (let i = 0; i < 20; i++) live.push(Buffer.allocUnsafeSlow(4 << 20).fill(i));
      live = null;
      // V8 frees ArrayBuffers on a background sweeper: wait until malloc holds them as free memory.
      const t0 = Date.now();
      (function wait() {
        gc();
        if (native.mallocInfo().freeBytes < 60 * 1048576 && Date.now() - t0 < 10000) return setTimeout(wait, 20);
        const free = native.mallocInfo().freeBytes / 1048576, before = rssMiB();
        const released = native.mallocTrim();
        process.stdout.write(JSON.stringify({ free, released, dropped: before - rssMiB() }));
      })();
    `;
    const r = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' })) as { free: number; released: boolean; dropped: number };
    expect(r.free).toBeGreaterThanOrEqual(60); // kept by malloc after the collection: the policy at work
    expect(r.released).toBe(true);
    expect(r.dropped).toBeGreaterThan(40);
  });
});
