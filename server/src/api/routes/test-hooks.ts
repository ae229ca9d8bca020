/**
 * Test hooks, mounted only when the server runs with `testHooks` (flag
 * `--test-hooks`, never on by default): end-to-end tests move the server's
 * TestClock and let the scheduler see the new time at once.
 *
 *   POST /api/v1/test/clock {"advanceMs": n} | {"set": "<ISO time>"}
 *     -> {"now": ISO, "queued": [{jobId, kind, dataSourceId, slot}]}
 *   GET  /api/v1/test/clock -> {"now": ISO}
 */
import type Router from '@koa/router';
import { invalid } from '../../errors.js';
import type { TestClock, TickReport } from '../../scheduler/index.js';
import { body } from '../context.js';

export interface TestHooks {
  clock: TestClock;
  /** What real time would have woken: the scheduler's tick. */
  tick(): Promise<TickReport>;
}

export function testHookRoutes(r: Router, hooks: TestHooks) {
  r.get('/test/clock', (c) => {
    c.body = { now: hooks.clock.now().toISOString() };
  });
  r.post('/test/clock', async (c) => {
    const b = body(c);
    try {
      if (b.advanceMs !== undefined && b.set === undefined) hooks.clock.advance(Number(b.advanceMs));
      else if (typeof b.set === 'string' && b.advanceMs === undefined) hooks.clock.set(b.set);
      else if (b.advanceMs !== undefined || b.set !== undefined) throw new RangeError('give either advanceMs or set, not both');
    } catch (e) {
      throw invalid(`test clock: ${(e as Error).message} (body: {"advanceMs": n} or {"set": "<ISO time>"})`);
    }
    const report = await hooks.tick();
    c.body = { now: hooks.clock.now().toISOString(), queued: report.queued.map((q) => ({ ...q, slot: q.slot.toISOString() })) };
  });
}
