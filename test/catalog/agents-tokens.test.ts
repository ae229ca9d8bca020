/** Agents and enrollment tokens on both engines. */
import { expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { describeEngines, fakeClock, SAMPLE_KEY } from './harness.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const MISSING = '00000000-0000-4000-8000-000000000000';

describeEngines('catalog agents', (h) => {
  it('create, get by id and name, list', async () => {
    const clock = fakeClock();
    const c = await h.open({ clock });
    const a = await c.createAgent({ hostname: 'web-01', publicKey: SAMPLE_KEY, version: '0.1.0' });
    expect(a).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'web-01',
      hostname: 'web-01',
      publicKey: SAMPLE_KEY,
      createdAt: clock.now(),
      lastSeenAt: null,
      revokedAt: null,
      version: '0.1.0',
    });
    clock.advance(1000);
    const b = await c.createAgent({ name: 'db', hostname: 'db-01.example', publicKey: SAMPLE_KEY });
    expect(b.version).toBeNull();

    expect(await c.getAgent(a.id)).toEqual(a);
    expect(await c.getAgentByName('db')).toEqual(b);
    expect(await c.getAgentByName('db-01.example')).toBeNull();
    expect(await c.getAgent(MISSING)).toBeNull();
    expect(await c.getAgent('not-a-uuid')).toBeNull();
    expect(await c.listAgents()).toEqual([a, b]);
  });

  it('refuses a duplicate name with CONFLICT', async () => {
    const c = await h.open();
    await c.createAgent({ hostname: 'web-01', publicKey: SAMPLE_KEY });
    await expect(c.createAgent({ hostname: 'web-01', publicKey: SAMPLE_KEY })).rejects.toMatchObject({
      name: 'CatalogError',
      code: 'CONFLICT',
      httpStatus: 409,
    });
    expect(await c.listAgents()).toHaveLength(1);
  });

  it('touch records last seen, version and hostname; revoke keeps the first time', async () => {
    const clock = fakeClock();
    const c = await h.open({ clock });
    const a = await c.createAgent({ hostname: 'web-01', publicKey: SAMPLE_KEY, version: '0.1.0' });
    clock.advance(5000);
    expect(await c.touchAgent(a.id)).toBe(true);
    expect((await c.getAgent(a.id))!.lastSeenAt).toEqual(clock.now());
    const at = new Date('2026-02-01T00:00:00.123Z');
    expect(await c.touchAgent(a.id, at, '0.2.0', 'web-01.lan')).toBe(true);
    expect(await c.getAgent(a.id)).toMatchObject({ lastSeenAt: at, version: '0.2.0', hostname: 'web-01.lan' });
    expect(await c.touchAgent(MISSING)).toBe(false);

    clock.advance(1000);
    const revokedAt = clock.now();
    expect(await c.revokeAgent(a.id)).toBe(true);
    clock.advance(1000);
    expect(await c.revokeAgent(a.id)).toBe(true);
    expect((await c.getAgent(a.id))!.revokedAt).toEqual(revokedAt);
    expect(await c.revokeAgent(MISSING)).toBe(false);
  });
});

describeEngines('catalog enrollment tokens', (h) => {
  it('a token can be consumed exactly once', async () => {
    const clock = fakeClock();
    const c = await h.open({ clock });
    const t = await c.createEnrollmentToken(sha('secret-1'), new Date(clock.now().getTime() + 3600_000));
    expect(t).toMatchObject({ tokenHash: sha('secret-1'), usedAt: null, usedByAgentId: null, createdAt: clock.now() });
    expect(await c.getEnrollmentToken(t.id)).toEqual(t);

    clock.advance(1000);
    const used = await c.consumeEnrollmentToken(sha('secret-1'));
    expect(used).toMatchObject({ id: t.id, usedAt: clock.now(), usedByAgentId: null });
    expect(await c.consumeEnrollmentToken(sha('secret-1'))).toBeNull();
    expect(await c.consumeEnrollmentToken(sha('never-issued'))).toBeNull();

    const agent = await c.createAgent({ hostname: 'h', publicKey: SAMPLE_KEY });
    expect(await c.markEnrollmentTokenUsedBy(t.id, agent.id)).toBe(true);
    expect((await c.getEnrollmentToken(t.id))!.usedByAgentId).toBe(agent.id);
  });

  it('expired tokens are refused (expiry is exclusive)', async () => {
    const clock = fakeClock();
    const c = await h.open({ clock });
    const expiresAt = new Date(clock.now().getTime() + 60_000);
    await c.createEnrollmentToken(sha('a'), expiresAt);
    await c.createEnrollmentToken(sha('b'), expiresAt);
    clock.set(new Date(expiresAt.getTime() - 1));
    expect(await c.consumeEnrollmentToken(sha('a'), null)).not.toBeNull();
    clock.set(expiresAt);
    expect(await c.consumeEnrollmentToken(sha('b'))).toBeNull();
    clock.advance(3600_000);
    expect(await c.consumeEnrollmentToken(sha('b'))).toBeNull();
    expect((await c.listEnrollmentTokens()).find((t) => t.tokenHash === sha('b'))!.usedAt).toBeNull();
  });

  it('of many concurrent consumers exactly one wins', async () => {
    const c = await h.open();
    await c.createEnrollmentToken(sha('race'), new Date(Date.now() + 60_000));
    const results = await Promise.all(Array.from({ length: 12 }, () => c.consumeEnrollmentToken(sha('race'))));
    expect(results.filter((r) => r !== null)).toHaveLength(1);
  });

  it('consume inside a transaction rolls back with it', async () => {
    const c = await h.open();
    await c.createEnrollmentToken(sha('tx'), new Date(Date.now() + 60_000));
    await expect(
      c.transaction(async (tx) => {
        expect(await tx.consumeEnrollmentToken(sha('tx'))).not.toBeNull();
        await tx.createAgent({ hostname: 'new', publicKey: SAMPLE_KEY });
        throw new Error('enrollment failed later');
      }),
    ).rejects.toThrow('enrollment failed later');
    expect(await c.listAgents()).toEqual([]);
    expect(await c.consumeEnrollmentToken(sha('tx'))).not.toBeNull();
  });

  it('refuses a duplicate or malformed hash; deletes', async () => {
    const c = await h.open();
    const t = await c.createEnrollmentToken(sha('x'), new Date(Date.now() + 60_000));
    await expect(c.createEnrollmentToken(sha('x'), new Date())).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(c.createEnrollmentToken('XYZ', new Date())).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    expect(await c.deleteEnrollmentToken(t.id)).toBe(true);
    expect(await c.deleteEnrollmentToken(t.id)).toBe(false);
    expect(await c.listEnrollmentTokens()).toEqual([]);
  });
});
