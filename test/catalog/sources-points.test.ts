/** Data sources and recovery points on both engines. */
import { expect, it } from 'vitest';
import type { Catalog } from '../../server/src/catalog/index.js';
import { describeEngines, fakeClock, hex64, SAMPLE_KEY } from './harness.js';

const MISSING = '00000000-0000-4000-8000-000000000000';
const BIG = 2 ** 40 + 12345; // > 2^32: must survive bigint columns as a JS number

async function agentWithSource(c: Catalog, host = 'web-01') {
  const agent = await c.createAgent({ hostname: host, publicKey: SAMPLE_KEY });
  const source = await c.createDataSource({ agentId: agent.id, name: 'home', paths: ['/home'] });
  return { agent, source };
}

function pointInput(agentId: string, dataSourceId: string, extra: Record<string, unknown> = {}) {
  return {
    agentId,
    dataSourceId,
    jobId: crypto.randomUUID(),
    root: [hex64(1), hex64(2)],
    files: 10,
    dirs: 2,
    bytes: 1000,
    bytesAdded: 500,
    ...extra,
  };
}

describeEngines('catalog data sources', (h) => {
  it('create, get, getByName, list by agent, update, delete', async () => {
    const clock = fakeClock();
    const c = await h.open({ clock });
    const a = await c.createAgent({ hostname: 'a', publicKey: SAMPLE_KEY });
    const b = await c.createAgent({ hostname: 'b', publicKey: SAMPLE_KEY });
    const s1 = await c.createDataSource({
      agentId: a.id,
      name: 'etc',
      paths: ['/etc', '/srv/ü space'],
      includes: ['*.conf'],
      excludes: ['*.tmp', 'cache/'],
    });
    expect(s1).toEqual({
      id: expect.any(String),
      agentId: a.id,
      name: 'etc',
      kind: 'files',
      paths: ['/etc', '/srv/ü space'],
      includes: ['*.conf'],
      excludes: ['*.tmp', 'cache/'],
      createdAt: clock.now(),
      groupId: null,
    });
    clock.advance(10);
    const s2 = await c.createDataSource({ agentId: b.id, name: 'etc', paths: ['/etc'] });
    expect(s2.includes).toEqual([]);

    expect(await c.getDataSource(s1.id)).toEqual(s1);
    expect(await c.getDataSource('nope')).toBeNull();
    expect(await c.getDataSourceByName(b.id, 'etc')).toEqual(s2);
    expect(await c.getDataSourceByName(b.id, 'home')).toBeNull();
    expect(await c.listDataSources()).toEqual([s1, s2]);
    expect(await c.listDataSources(a.id)).toEqual([s1]);

    const s1b = await c.updateDataSource(s1.id, { excludes: [], paths: ['/etc'] });
    expect(s1b).toEqual({ ...s1, excludes: [], paths: ['/etc'] });
    expect(await c.updateDataSource(MISSING, { name: 'x' })).toBeNull();

    expect(await c.deleteDataSource(s1.id)).toBe(true);
    expect(await c.deleteDataSource(s1.id)).toBe(false);
    expect(await c.listDataSources()).toEqual([s2]);
  });

  it('names are unique per agent; the agent must exist', async () => {
    const c = await h.open();
    const { agent } = await agentWithSource(c);
    await expect(c.createDataSource({ agentId: agent.id, name: 'home', paths: ['/x'] })).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    await expect(c.createDataSource({ agentId: MISSING, name: 'home', paths: ['/x'] })).rejects.toMatchObject({
      code: 'INVALID_REFERENCE',
    });
    await expect(c.createDataSource({ agentId: agent.id, name: 'bad', paths: [1 as never] })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
  });

  it('cannot be deleted while it has recovery points (IN_USE)', async () => {
    const c = await h.open();
    const { agent, source } = await agentWithSource(c);
    const p = await c.createRecoveryPoint(pointInput(agent.id, source.id));
    await expect(c.deleteDataSource(source.id)).rejects.toMatchObject({ code: 'IN_USE', httpStatus: 409 });
    expect(await c.deleteRecoveryPoint(p.id)).toBe(true);
    expect(await c.deleteDataSource(source.id)).toBe(true);
  });
});

describeEngines('catalog recovery points', (h) => {
  it('create, get, list newest first, latest, by agent, all ids, delete', async () => {
    const clock = fakeClock();
    const c = await h.open({ clock });
    const { agent, source } = await agentWithSource(c);
    const other = await agentWithSource(c, 'db-01');

    const p1 = await c.createRecoveryPoint(pointInput(agent.id, source.id));
    expect(p1).toMatchObject({ createdAt: clock.now(), parentPointId: null, location: 'disk', vaultId: null, root: [hex64(1), hex64(2)] });
    clock.advance(60_000);
    const p2 = await c.createRecoveryPoint(pointInput(agent.id, source.id, { parentPointId: p1.id, files: 11 }));
    clock.advance(60_000);
    const q1 = await c.createRecoveryPoint(pointInput(other.agent.id, other.source.id));

    expect(await c.getRecoveryPoint(p2.id)).toEqual(p2);
    expect(await c.getRecoveryPoint(MISSING)).toBeNull();
    expect(await c.listRecoveryPoints({ dataSourceId: source.id })).toEqual([p2, p1]);
    expect(await c.listRecoveryPoints({ agentId: other.agent.id })).toEqual([q1]);
    expect(await c.listRecoveryPoints()).toEqual([q1, p2, p1]);
    expect(await c.latestRecoveryPoint(source.id)).toEqual(p2);
    expect(await c.latestRecoveryPoint(MISSING)).toBeNull();
    expect(await c.listRecoveryPointIds()).toEqual([p1.id, p2.id, q1.id].sort());

    expect(await c.setRecoveryPointLocation(p1.id, 'both')).toBe(true);
    expect((await c.getRecoveryPoint(p1.id))!.location).toBe('both');

    // Deleting a parent keeps its child, which forgets the parent.
    expect(await c.deleteRecoveryPoint(p1.id)).toBe(true);
    expect(await c.deleteRecoveryPoint(p1.id)).toBe(false);
    expect((await c.getRecoveryPoint(p2.id))!.parentPointId).toBeNull();
    expect(await c.listRecoveryPointIds()).toEqual([p2.id, q1.id].sort());
  });

  it('sizes above 2^32 round-trip as JS numbers', async () => {
    const c = await h.open();
    const { agent, source } = await agentWithSource(c);
    const p = await c.createRecoveryPoint(
      pointInput(agent.id, source.id, { bytes: BIG, bytesAdded: BIG - 1, files: 2 ** 33, dirs: 2 ** 32 + 1 }),
    );
    const got = (await c.getRecoveryPoint(p.id))!;
    expect(got.bytes).toBe(BIG);
    expect(typeof got.bytes).toBe('number');
    expect(got.bytesAdded).toBe(BIG - 1);
    expect(got.files).toBe(2 ** 33);
    expect(got.dirs).toBe(2 ** 32 + 1);
    expect((await c.listRecoveryPoints({ dataSourceId: source.id }))[0]!.bytes).toBe(BIG);
    const max = await c.createRecoveryPoint(pointInput(agent.id, source.id, { bytes: Number.MAX_SAFE_INTEGER }));
    expect((await c.getRecoveryPoint(max.id))!.bytes).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('refuses unsafe numbers, bad roots, unknown references and duplicate ids', async () => {
    const c = await h.open();
    const { agent, source } = await agentWithSource(c);
    await expect(c.createRecoveryPoint(pointInput(agent.id, source.id, { bytes: 2 ** 53 }))).rejects.toThrow(TypeError);
    await expect(c.createRecoveryPoint(pointInput(agent.id, source.id, { bytes: 1.5 }))).rejects.toThrow(TypeError);
    await expect(c.createRecoveryPoint(pointInput(agent.id, source.id, { root: ['xyz'] }))).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
    await expect(c.createRecoveryPoint(pointInput(agent.id, MISSING))).rejects.toMatchObject({
      code: 'INVALID_REFERENCE',
    });
    await expect(c.createRecoveryPoint(pointInput(agent.id, source.id, { parentPointId: MISSING }))).rejects.toMatchObject({
      code: 'INVALID_REFERENCE',
    });
    const id = crypto.randomUUID();
    expect((await c.createRecoveryPoint(pointInput(agent.id, source.id, { id }))).id).toBe(id);
    await expect(c.createRecoveryPoint(pointInput(agent.id, source.id, { id }))).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    expect(await c.listRecoveryPointIds()).toEqual([id]);
  });
});
