/**
 * The test-clock hook on an in-process server: only with testHooks, only with
 * the admin credential, bad bodies refused; moving the clock runs a tick.
 * Also the server's scheduler options from the command line.
 */
import path from 'node:path';
import { pino } from 'pino';
import tmp from 'tmp';
import { afterEach, describe, expect, it } from 'vitest';
import { parseSchedulerFlags } from '../../server/src/cli/server-command.js';
import { startServer, type RunningServer } from '../../server/src/server.js';
import { TestClock } from '../../server/src/scheduler/clock.js';

let srv: RunningServer | undefined;
let dir: tmp.DirResult | undefined;
afterEach(async () => {
  await srv?.close();
  dir?.removeCallback();
  srv = undefined;
});

async function start(testHooks: boolean) {
  dir = tmp.dirSync({ unsafeCleanup: true, prefix: 'strata-hooks-' });
  srv = await startServer({ dataDir: path.join(dir.name, 'data'), insecure: true, port: 0, testHooks, timeZone: 'UTC', log: pino({ level: 'silent' }) });
  const call = async (method: string, p: string, body?: unknown, token: string | null = srv!.adminToken) => {
    const res = await fetch(`${srv!.url}/api/v1${p}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {}, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: (text.startsWith('{') ? JSON.parse(text) : text) as any };
  };
  return call;
}

describe('POST /api/v1/test/clock', () => {
  it('moves the test clock and ticks; the catalog stamps rows with that clock', async () => {
    const call = await start(true);
    expect(srv!.clock).toBeInstanceOf(TestClock);
    expect(await call('POST', '/test/clock', { set: '2026-01-01T00:00:00Z' })).toEqual({ status: 200, body: { now: '2026-01-01T00:00:00.000Z', queued: [] } });
    expect((await call('POST', '/test/clock', { advanceMs: 90_000 })).body.now).toBe('2026-01-01T00:01:30.000Z');
    expect((await call('GET', '/test/clock')).body).toEqual({ now: '2026-01-01T00:01:30.000Z' });
    const agent = await srv!.catalog.createAgent({ hostname: 'h', publicKey: 'k' });
    expect(agent.createdAt.toISOString()).toBe('2026-01-01T00:01:30.000Z');
  });

  it('also runs the alert monitor check: a failed job is an alert at the next tick', async () => {
    const call = await start(true);
    await call('POST', '/test/clock', { set: '2026-01-01T00:00:00Z' });
    const job = await srv!.catalog.createJob({ type: 'gc', state: 'running' });
    await srv!.catalog.finishJob(job.id, 'failed', { errorMessage: 'disk on fire' });
    expect(await srv!.catalog.listAlerts({ state: 'active' })).toEqual([]);
    await call('POST', '/test/clock', { advanceMs: 1000 });
    expect(await srv!.catalog.listAlerts({ state: 'active' })).toEqual([expect.objectContaining({ kind: 'job-failed', key: `job-failed:job:${job.id}` })]);
  });

  it('needs the admin credential and a valid body', async () => {
    const call = await start(true);
    expect((await call('POST', '/test/clock', { advanceMs: 1 }, null)).status).toBe(401);
    expect((await call('POST', '/test/clock', { advanceMs: 1 }, 'sta_wrong')).status).toBe(401);
    const bad = await call('POST', '/test/clock', { advanceMs: -5 });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST' } } });
    expect(bad.body.error.message).toMatch(/cannot advance by -5 ms/);
    expect((await call('POST', '/test/clock', { set: 'yesterday' })).status).toBe(400);
    expect((await call('POST', '/test/clock', { set: '2026-01-01T00:00:00Z', advanceMs: 1 })).status).toBe(400);
  });

  it('does not exist without testHooks, and the server runs on the system clock', async () => {
    const call = await start(false);
    expect((await call('POST', '/test/clock', { advanceMs: 1 })).status).toBe(404);
    expect(Math.abs(srv!.clock.now().getTime() - Date.now())).toBeLessThan(1000);
  });
});

describe('strata server scheduling flags', () => {
  it('parse to server options', () => {
    expect(parseSchedulerFlags({ maxConcurrentJobs: '8', agentOfflineWait: '90s', gcTime: 'off', testHooks: true, timeZone: 'Europe/Stockholm' }))
      .toEqual({ maxConcurrentJobs: 8, agentOfflineWaitMs: 90_000, gcTime: null, testHooks: true, timeZone: 'Europe/Stockholm' });
    expect(parseSchedulerFlags({ agentOfflineWait: '10', gcTime: '02:30' })).toEqual({ agentOfflineWaitMs: 600_000, gcTime: '02:30' });
  });

  it('refuse bad values naming the allowed form', () => {
    expect(() => parseSchedulerFlags({ maxConcurrentJobs: '0' })).toThrow(/from 1 to 256 \(got '0'\)/);
    expect(() => parseSchedulerFlags({ agentOfflineWait: '10 minutes' })).toThrow(/such as 90s, 10m or 1h/);
    expect(() => parseSchedulerFlags({ gcTime: '25:00' })).toThrow(/HH:MM .* or 'off'/);
  });

  it('an unknown time zone stops the server from starting', async () => {
    dir = tmp.dirSync({ unsafeCleanup: true, prefix: 'strata-hooks-' });
    await expect(startServer({ dataDir: path.join(dir.name, 'data'), insecure: true, port: 0, timeZone: 'Mars/Olympus', log: pino({ level: 'silent' }) })).rejects.toThrow(/IANA time zone/);
  });
});
