/** Bandwidth throttling (fake clock for the arithmetic, the real clock for one small upload) and work-hours limits. */
import { describe, expect, it } from 'vitest';
import { systemClock, Throttle, uploadPoint, VaultUploadAbortedError, workHoursLimit } from '../../../server/src/vault/index.js';
import { addPoint, freshVault, makeChunk, openKnown, openStore, pointInput, refsOf } from './helpers.js';

describe('throttle', () => {
  it('spaces transfers so the average rate stays at the limit, across parallel callers', async () => {
    // a clock that stands still while they all book: what each caller is told to wait
    const waits: number[] = [];
    const clock = { now: () => 0, sleep: async (ms: number) => { waits.push(ms); } };
    const t = new Throttle(() => 1000, clock);
    await Promise.all(Array.from({ length: 10 }, () => t.take(1000)));
    // the first transfer starts at once, each later one waits for the budget of those before it
    expect(waits.reduce((a, b) => a + b, 0)).toBe(1000 + 2000 + 3000 + 4000 + 5000 + 6000 + 7000 + 8000 + 9000);
    expect(Math.max(...waits)).toBe(9000);
  });

  it('follows limitFor(now): unlimited off hours, limited in work hours', async () => {
    const limit = workHoursLimit({ workHours: 100, offHours: null, from: 8, to: 18 });
    const monday10 = new Date(2026, 10, 23, 10, 0);
    const monday20 = new Date(2026, 10, 23, 20, 0);
    const sunday10 = new Date(2026, 10, 22, 10, 0);
    const tuesday10 = new Date(2026, 10, 24, 10, 0);
    expect(limit(monday10)).toBe(100);
    expect(limit(monday20)).toBeNull();
    expect(limit(sunday10)).toBeNull();
    let now = monday20.getTime();
    const waits: number[] = [];
    const clock = { now: () => now, sleep: async (ms: number) => { waits.push(ms); now += ms; } };
    const t = new Throttle(limit, clock);
    for (let i = 0; i < 5; i++) await t.take(1000);
    expect(waits).toEqual([]);
    now = tuesday10.getTime();
    for (let i = 0; i < 3; i++) await t.take(100);
    expect(waits).toEqual([1000, 1000]);
  });

  it('a real upload under a low limit takes about as long as the limit says', async () => {
    const store = await openStore();
    await addPoint(store, 'p1', Array.from({ length: 24 }, () => makeChunk(8 << 10)));
    const refs = await refsOf(store, 'p1');
    const run = async (limitFor?: () => number) => {
      const { vault } = await freshVault();
      const known = await openKnown(vault);
      const t0 = performance.now();
      const r = await uploadPoint({
        vault, known, store, point: pointInput('p1', []), refs, packSize: 16 << 10, concurrency: 4, limitFor, clock: systemClock,
      });
      return { ms: performance.now() - t0, bytes: r.bytesSent };
    };
    const free = await run();
    const limit = 256 << 10;
    const slow = await run(() => limit);
    const expected = (slow.bytes / limit) * 1000; // ~0.8 s for ~200 KiB
    // the first object is not delayed (one object's burst): allow it, plus scheduling slack
    expect(slow.ms).toBeGreaterThan(expected - ((17 << 10) / limit) * 1000 - 50);
    expect(slow.ms).toBeLessThan(expected + 1500);
    expect(free.ms).toBeLessThan(slow.ms);
  });

  it('a cancel during a throttle wait ends the upload at once, as a cancel', async () => {
    const store = await openStore();
    await addPoint(store, 'p1', Array.from({ length: 8 }, () => makeChunk(8 << 10)));
    const { vault } = await freshVault();
    const known = await openKnown(vault);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const t0 = performance.now();
    const err = await uploadPoint({
      vault, known, store, point: pointInput('p1', []), refs: await refsOf(store, 'p1'), packSize: 16 << 10,
      limitFor: () => 1000, clock: systemClock, signal: ac.signal,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VaultUploadAbortedError);
    expect(performance.now() - t0).toBeLessThan(3000);
  });
});
