/** Agents: one row per enrolled protection agent, identified by its public key. */
import { randomUUID } from 'node:crypto';
import { IsNull } from 'typeorm';
import type { AgentOps } from '../catalog.js';
import type { RepoContext } from '../context.js';
import { CatalogError } from '../errors.js';
import type { Agent } from '../types.js';
import { affected, validId } from './util.js';

export function agentOps(ctx: RepoContext): AgentOps {
  const E = ctx.entities.agent;
  return {
    createAgent: async (input) => {
      const what = `create agent '${input.name ?? input.hostname}'`;
      if (input.id !== undefined && !validId(input.id)) throw new CatalogError('INVALID_REQUEST', `${what}: id '${input.id}' is not a uuid`);
      return ctx.run(what, async (m) => {
        const agent: Agent = {
          id: input.id ?? randomUUID(),
          name: input.name ?? input.hostname,
          hostname: input.hostname,
          publicKey: input.publicKey,
          createdAt: ctx.clock.now(),
          lastSeenAt: null,
          revokedAt: null,
          version: input.version ?? null,
        };
        await m.insert(E, agent);
        return agent;
      });
    },

    getAgent: async (id) => (validId(id) ? ctx.run(`get agent ${id}`, (m) => m.findOneBy(E, { id })) : null),

    getAgentByName: (name) => ctx.run(`get agent '${name}'`, (m) => m.findOneBy(E, { name })),

    listAgents: () => ctx.run('list agents', (m) => m.find(E, { order: { createdAt: 'ASC', name: 'ASC' } })),

    touchAgent: async (id, at, version, hostname) => {
      if (!validId(id)) return false;
      const patch: Partial<Agent> = { lastSeenAt: at ?? ctx.clock.now() };
      if (version !== undefined) patch.version = version;
      if (hostname) patch.hostname = hostname;
      return ctx.run(`touch agent ${id}`, async (m) => affected(await m.update(E, { id }, patch)));
    },

    revokeAgent: async (id) => {
      if (!validId(id)) return false;
      return ctx.atomic(`revoke agent ${id}`, async (m) => {
        if (!(await m.existsBy(E, { id }))) return false;
        await m.update(E, { id, revokedAt: IsNull() }, { revokedAt: ctx.clock.now() });
        return true;
      });
    },
  };
}
