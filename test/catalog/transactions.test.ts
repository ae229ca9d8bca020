/**
 * Transactions on both engines. On SQLite the catalog has one connection, and
 * interleaved transactions on it would corrupt each other (a rollback undoing
 * another's writes); the catalog serializes them. These tests interleave on
 * purpose (random awaits inside transactions) and check what survives.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import type { Catalog } from '../../server/src/catalog/index.js';
import { describeEngines, SAMPLE_KEY } from './harness.js';

const jitter = () => sleep(Math.floor(Math.random() * 8));

async function state(c: Catalog) {
  const agents = (await c.listAgents()).map((a) => a.name).sort();
  const sources = (await c.listDataSources()).length;
  return { agents, sources };
}

describeEngines('catalog transactions', (h) => {
  it('commit on success, roll back and rethrow on error', async () => {
    const c = await h.open();
    const id = await c.transaction(async (tx) => {
      const a = await tx.createAgent({ hostname: 'kept', publicKey: SAMPLE_KEY });
      await tx.createDataSource({ agentId: a.id, name: 'all', paths: ['/'] });
      return a.id;
    });
    expect((await c.getAgent(id))!.name).toBe('kept');

    const boom = new Error('boom');
    await expect(
      c.transaction(async (tx) => {
        await tx.createAgent({ hostname: 'lost', publicKey: SAMPLE_KEY });
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await state(c)).toEqual({ agents: ['kept'], sources: 1 });
  });

  it('20 concurrent transactions, half failing: exactly the committed ones remain', async () => {
    const c = await h.open();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        c.transaction(async (tx) => {
          await jitter();
          const a = await tx.createAgent({ hostname: `t${String(i).padStart(2, '0')}`, publicKey: SAMPLE_KEY });
          await jitter();
          await tx.createDataSource({ agentId: a.id, name: 'home', paths: ['/home'] });
          await tx.updateDataSource((await tx.getDataSourceByName(a.id, 'home'))!.id, { excludes: ['*.tmp'] });
          await jitter();
          if (i % 2 === 1) throw new Error(`tx ${i} fails`);
          return a.id;
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    const committed = Array.from({ length: 10 }, (_, k) => `t${String(2 * k).padStart(2, '0')}`);
    expect(await state(c)).toEqual({ agents: committed, sources: 10 });
    for (const s of await c.listDataSources()) expect(s.excludes).toEqual(['*.tmp']);
  });

  it('plain calls made while transactions run are neither lost nor swallowed by a rollback', async () => {
    const c = await h.open();
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 8; i++) {
      work.push(
        c
          .transaction(async (tx) => {
            await tx.createAgent({ hostname: `tx${i}`, publicKey: SAMPLE_KEY });
            await jitter();
            throw new Error('roll back');
          })
          .catch(() => undefined),
      );
      work.push(c.createAgent({ hostname: `plain${i}`, publicKey: SAMPLE_KEY }));
    }
    await Promise.all(work);
    expect((await state(c)).agents).toEqual(Array.from({ length: 8 }, (_, i) => `plain${i}`));
  });

  it('a transaction sees its own writes; calling the outer catalog inside it is refused', async () => {
    const c = await h.open();
    await expect(
      c.transaction(async (tx) => {
        const a = await tx.createAgent({ hostname: 'inner', publicKey: SAMPLE_KEY });
        expect(await tx.getAgent(a.id)).toEqual(a);
        await c.listAgents(); // wrong handle
      }),
    ).rejects.toMatchObject({ code: 'CATALOG_MISUSE' });
    expect(await c.listAgents()).toEqual([]);
    // The scope is switched off between transactions (its per-promise hooks cost the whole
    // server) and on again by the next one: the misuse is still caught there.
    await c.transaction(async (tx) => { await tx.listAgents(); });
    await expect(c.transaction(async () => { await c.listAgents(); })).rejects.toMatchObject({ code: 'CATALOG_MISUSE' });
    expect(await c.listAgents()).toEqual([]);
  });

  it('a transaction handle is dead once its transaction ended', async () => {
    const c = await h.open();
    let leaked: Catalog | undefined;
    await c.transaction(async (tx) => {
      leaked = tx;
    });
    await expect(leaked!.listAgents()).rejects.toMatchObject({ code: 'CATALOG_MISUSE' });
    await expect(leaked!.close()).rejects.toMatchObject({ code: 'CATALOG_MISUSE' });
    expect(await c.listAgents()).toEqual([]); // and the catalog is fine
  });

  it('nested transactions are savepoints: an inner failure (even a CONFLICT) rolls back only itself', async () => {
    const c = await h.open();
    await c.createAgent({ hostname: 'taken', publicKey: SAMPLE_KEY });
    await c.transaction(async (tx) => {
      await tx.createAgent({ hostname: 'outer', publicKey: SAMPLE_KEY });
      await expect(
        tx.transaction(async (inner) => {
          await inner.createAgent({ hostname: 'inner-lost', publicKey: SAMPLE_KEY });
          await inner.createAgent({ hostname: 'taken', publicKey: SAMPLE_KEY });
        }),
      ).rejects.toMatchObject({ code: 'CONFLICT' });
      await tx.transaction(async (inner) => {
        await inner.createAgent({ hostname: 'inner-kept', publicKey: SAMPLE_KEY });
      });
      await tx.createAgent({ hostname: 'outer-2', publicKey: SAMPLE_KEY }); // the transaction still works
    });
    expect((await state(c)).agents).toEqual(['inner-kept', 'outer', 'outer-2', 'taken']);
  });

  it('concurrent transactions creating the same name: one wins, one gets CONFLICT', async () => {
    const c = await h.open();
    const attempt = () =>
      c.transaction(async (tx) => {
        await jitter();
        return tx.createAgent({ hostname: 'same', publicKey: SAMPLE_KEY });
      });
    const results = await Promise.allSettled([attempt(), attempt()]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toMatchObject({ code: 'CONFLICT' });
  });

  it('close waits for running work, then refuses new calls', async () => {
    const c = await h.open();
    const slow = c.transaction(async (tx) => {
      await sleep(50);
      return tx.createAgent({ hostname: 'slow', publicKey: SAMPLE_KEY });
    });
    await sleep(5);
    await c.close();
    await expect(slow).resolves.toMatchObject({ name: 'slow' });
    await expect(c.listAgents()).rejects.toMatchObject({ code: 'CATALOG_CLOSED' });
    await c.close(); // idempotent
    const again = await h.open();
    expect((await again.listAgents()).map((a) => a.name)).toEqual(['slow']);
  });
});
