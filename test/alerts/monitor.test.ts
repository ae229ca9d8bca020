/**
 * The alert monitor on a real catalog (SQLite, and PostgreSQL when there is
 * one): each condition is raised once however many checks see it, resolved
 * once when it clears, and only those transitions reach the channel (a real
 * webhook receiver).
 */
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeEngines } from '../catalog/harness.js';
import { agentWithSource, finishedJob, monitorRig, newPoint, type MonitorRig } from './harness.js';

const MIN = 60_000;

describeEngines('alert monitor', (h) => {
  let rig: MonitorRig;
  beforeEach(async () => { rig = await monitorRig(h); });
  afterEach(async () => { await rig.close(); });

  it('job-failed: one alert per source and job type, raised once, resolved by a later success, raised anew after', async () => {
    const { catalog, clock } = rig;
    const m = rig.monitor();
    const { source } = await agentWithSource(catalog, 'fileserver');
    const key = `job-failed:${source.id}:backup`;
    const failed = await finishedJob(catalog, 'backup', source, 'failed', 'disk read error on /srv/docs');
    const first = await m.checkNow();
    expect(first.raised.map((a) => a.key)).toEqual([key]);
    expect(first.raised[0]).toMatchObject({ kind: 'job-failed', severity: 'error', state: 'active', subject: "Backup of 'fileserver-docs' on agent 'fileserver' failed" });
    expect(first.raised[0]!.message).toContain('disk read error on /srv/docs');
    expect((first.raised[0]!.details as { jobId: string }).jobId).toBe(failed.id);

    clock.advance(MIN);
    await finishedJob(catalog, 'backup', source, 'failed');  // fails again: still the same alert
    await finishedJob(catalog, 'restore', source, 'succeeded'); // another job type says nothing about backups
    expect((await m.checkNow()).raised).toEqual([]);
    expect(await catalog.listAlerts({ state: 'active' })).toHaveLength(1);
    expect(await rig.events()).toEqual([`raised:${key}`]);

    clock.advance(MIN);
    await finishedJob(catalog, 'backup', source, 'succeeded');
    const resolved = await m.checkNow();
    expect(resolved.resolved.map((a) => a.key)).toEqual([key]);
    expect(resolved.resolved[0]!.resolvedAt).toEqual(clock.now());
    expect((await m.checkNow()).resolved).toEqual([]);
    expect(await rig.events()).toEqual([`raised:${key}`, `resolved:${key}`]);

    clock.advance(MIN);
    await finishedJob(catalog, 'backup', source, 'failed');
    const again = await m.checkNow();
    expect(again.raised).toHaveLength(1);
    expect(again.raised[0]!.id).not.toBe(first.raised[0]!.id);
    expect(await catalog.listAlerts({ state: 'resolved' })).toHaveLength(1);
  });

  it('job-failed: an alert whose data source was deleted resolves', async () => {
    const { catalog } = rig;
    const m = rig.monitor();
    const { source } = await agentWithSource(catalog, 'old-server');
    await finishedJob(catalog, 'gc', null, 'succeeded');
    await catalog.raiseAlert({ key: `job-failed:${source.id}:backup`, kind: 'job-failed', severity: 'error', subject: 's', message: 'm', details: { dataSourceId: source.id, jobType: 'backup' } });
    expect((await m.checkNow()).resolved).toEqual([]);
    await catalog.deleteDataSource(source.id);
    expect((await m.checkNow()).resolved.map((a) => a.key)).toEqual([`job-failed:${source.id}:backup`]);
  });

  it('job-failed for server jobs: one alert per job, all resolved by a later success of that type', async () => {
    const { catalog, clock } = rig;
    const m = rig.monitor();
    const gc1 = await finishedJob(catalog, 'gc', null, 'failed', 'no space left');
    clock.advance(MIN);
    const gc2 = await finishedJob(catalog, 'gc', null, 'failed', 'no space left');
    clock.advance(MIN);
    await finishedJob(catalog, 'verify', null, 'succeeded');
    expect((await m.checkNow()).raised.map((a) => a.key).sort()).toEqual([`job-failed:job:${gc1.id}`, `job-failed:job:${gc2.id}`].sort());
    expect((await m.checkNow()).raised).toEqual([]);
    clock.advance(MIN);
    await finishedJob(catalog, 'gc', null, 'succeeded');
    expect((await m.checkNow()).resolved).toHaveLength(2);
    expect(await catalog.listAlerts({ state: 'active' })).toEqual([]);
  });

  it('job-failed: a failed vault verify is resolved by a clean verify of that vault, not by a verify of the chunk store', async () => {
    const { catalog, clock } = rig;
    const m = rig.monitor();
    const bad = await finishedJob(catalog, 'verify', null, 'failed', "vault 'offsite': 1 damaged object", { vault: 'offsite', readData: true });
    expect((await m.checkNow()).raised.map((a) => a.key)).toEqual([`job-failed:job:${bad.id}`]);
    clock.advance(MIN);
    await finishedJob(catalog, 'verify', null, 'succeeded'); // the chunk store's verify
    await finishedJob(catalog, 'verify', null, 'succeeded', '', { vault: 'other', readData: true });
    expect((await m.checkNow()).resolved).toEqual([]);
    clock.advance(MIN);
    await finishedJob(catalog, 'verify', null, 'succeeded', '', { vault: 'offsite', readData: true });
    expect((await m.checkNow()).resolved.map((a) => a.key)).toEqual([`job-failed:job:${bad.id}`]);
  });

  it('agent-offline: raised after the threshold, once; resolved when it reconnects or is revoked', async () => {
    const { catalog, clock, online } = rig;
    const m = rig.monitor({ agentOfflineMs: 60 * MIN });
    const { agent } = await agentWithSource(catalog, 'laptop');
    const { agent: other } = await agentWithSource(catalog, 'desktop');
    await catalog.touchAgent(agent.id, clock.now());
    await catalog.touchAgent(other.id, clock.now());
    online.add(other.id);
    clock.advance(59 * MIN);
    expect((await m.checkNow()).raised).toEqual([]);
    clock.advance(2 * MIN);
    const r = await m.checkNow();
    expect(r.raised.map((a) => [a.key, a.subject])).toEqual([[`agent-offline:${agent.id}`, "Agent 'laptop' is offline"]]);
    clock.advance(30 * MIN);
    expect((await m.checkNow()).raised).toEqual([]);
    online.add(agent.id);
    expect((await m.checkNow()).resolved.map((a) => a.key)).toEqual([`agent-offline:${agent.id}`]);

    // Revoked agents are not expected back: their alert ends.
    online.delete(agent.id);
    await catalog.touchAgent(agent.id, clock.now());
    clock.advance(61 * MIN);
    expect((await m.checkNow()).raised).toHaveLength(1);
    await catalog.revokeAgent(agent.id);
    expect((await m.checkNow()).resolved).toHaveLength(1);
    expect(await rig.events()).toEqual([`raised:agent-offline:${agent.id}`, `resolved:agent-offline:${agent.id}`, `raised:agent-offline:${agent.id}`, `resolved:agent-offline:${agent.id}`]);
  });

  it('agent-offline after a server restart: the agent gets a full threshold from the monitor start to reconnect', async () => {
    const { catalog, clock } = rig;
    const { agent } = await agentWithSource(catalog, 'branch-office');
    await catalog.touchAgent(agent.id, clock.now());
    clock.advance(3 * 60 * MIN); // the server was down for 3 h
    const m = rig.monitor({ agentOfflineMs: 60 * MIN });
    clock.advance(MIN);
    expect((await m.checkNow()).raised).toEqual([]);
    clock.advance(60 * MIN);
    const r = await m.checkNow();
    expect(r.raised.map((a) => a.key)).toEqual([`agent-offline:${agent.id}`]);
    expect(r.raised[0]!.message).toContain('not been connected since 2026-01-15T10:00:00.000Z');
  });

  it('missed-sla: no new point for twice the sync frequency; resolved by a point, or when the group stops', async () => {
    const { catalog, clock, online } = rig;
    const m = rig.monitor();
    const { agent, source } = await agentWithSource(catalog, 'db01');
    online.add(agent.id);
    const other = await agentWithSource(catalog, 'db02'); // in no group: no SLA
    online.add(other.agent.id);
    const g = await catalog.createProtectionGroup({ name: 'servers', syncFrequencyMinutes: 15, retentionDays: 14, maxPoints: 64 });
    await catalog.setDataSourceGroup(source.id, g.id);
    await newPoint(catalog, source);
    clock.advance(30 * MIN);
    expect((await m.checkNow()).raised).toEqual([]);
    clock.advance(1 * MIN);
    const r = await m.checkNow();
    expect(r.raised.map((a) => a.key)).toEqual([`missed-sla:${source.id}`]);
    expect(r.raised[0]!.message).toContain("Protection group 'servers' synchronizes every 15 min");
    expect((await m.checkNow()).raised).toEqual([]);
    await newPoint(catalog, source);
    expect((await m.checkNow()).resolved.map((a) => a.key)).toEqual([`missed-sla:${source.id}`]);

    clock.advance(31 * MIN);
    expect((await m.checkNow()).raised).toHaveLength(1);
    await catalog.updateProtectionGroup(g.id, { state: 'stopped' });
    expect((await m.checkNow()).resolved).toHaveLength(1);
    expect(await rig.events()).toEqual([`raised:missed-sla:${source.id}`, `resolved:missed-sla:${source.id}`, `raised:missed-sla:${source.id}`, `resolved:missed-sla:${source.id}`]);
  });

  it('disk-space: a 0% threshold raises (once), a 100% threshold resolves', async () => {
    const full = rig.monitor({ diskUsedPercent: 0 });
    const r = await full.checkNow();
    expect(r.raised.map((a) => a.key)).toEqual(['disk-space:data']);
    expect(r.raised[0]!.message).toContain(rig.dataDir);
    expect((r.raised[0]!.details as { usedPercent: number }).usedPercent).toBeGreaterThan(0);
    expect((await full.checkNow()).raised).toEqual([]);
    const roomy = rig.monitor({ diskUsedPercent: 100 });
    expect((await roomy.checkNow()).resolved.map((a) => a.key)).toEqual(['disk-space:data']);
    expect(await rig.events()).toEqual(['raised:disk-space:data', 'resolved:disk-space:data']);
  });

  it('a condition that cannot be checked is reported and the others still run; a broken channel does not break the check', async () => {
    const { catalog } = rig;
    await catalog.createNotificationChannel({ name: 'dead-hook', kind: 'webhook', config: { url: 'http://127.0.0.1:9/nothing', secret: 'x'.repeat(16), timeoutMs: 500 } });
    await catalog.createNotificationChannel({ name: 'off-hook', kind: 'webhook', config: { url: rig.hook.url, secret: 'y'.repeat(16) }, enabled: false });
    const m = rig.monitor({ diskUsedPercent: 0 }, path.join(rig.dataDir, 'does-not-exist'));
    await finishedJob(catalog, 'verify', null, 'failed');
    const r = await m.checkNow();
    expect(r.errors.map((e) => e.kind)).toEqual(['disk-space']);
    expect(r.raised.map((a) => a.kind)).toEqual(['job-failed']);
    // Only the enabled, working channel received it (once); the dead one was counted as failed.
    expect(await rig.events()).toHaveLength(1);
    expect(m.dispatcher.stats().total).toEqual({ sent: 1, failed: 1 });
  });
});
