/** Enrollment tokens: single-use, expiring secrets of which only the sha256 is kept. */
import { randomUUID } from 'node:crypto';
import { IsNull, MoreThan } from 'typeorm';
import type { EnrollmentTokenOps } from '../catalog.js';
import type { RepoContext } from '../context.js';
import { CatalogError } from '../errors.js';
import type { EnrollmentToken } from '../types.js';
import { affected, validId } from './util.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function enrollmentTokenOps(ctx: RepoContext): EnrollmentTokenOps {
  const E = ctx.entities.enrollmentToken;
  return {
    createEnrollmentToken: async (tokenHash, expiresAt) => {
      if (!SHA256_HEX.test(tokenHash)) {
        throw new CatalogError('INVALID_REQUEST', 'create enrollment token: the hash must be 64 lowercase hex digits');
      }
      if (!(expiresAt instanceof Date) || Number.isNaN(expiresAt.getTime())) {
        throw new CatalogError('INVALID_REQUEST', 'create enrollment token: expiresAt must be a valid Date');
      }
      return ctx.run('create enrollment token', async (m) => {
        const token: EnrollmentToken = {
          id: randomUUID(),
          tokenHash,
          createdAt: ctx.clock.now(),
          expiresAt,
          usedAt: null,
          usedByAgentId: null,
        };
        await m.insert(E, token);
        return token;
      });
    },

    getEnrollmentToken: async (id) =>
      validId(id) ? ctx.run(`get enrollment token ${id}`, (m) => m.findOneBy(E, { id })) : null,

    listEnrollmentTokens: () =>
      ctx.run('list enrollment tokens', (m) => m.find(E, { order: { createdAt: 'ASC', id: 'ASC' } })),

    consumeEnrollmentToken: (tokenHash, usedByAgentId) =>
      ctx.atomic('consume enrollment token', async (m) => {
        const now = ctx.clock.now();
        // One conditional UPDATE: only one caller can move used_at off NULL.
        const r = await m.update(
          E,
          { tokenHash, usedAt: IsNull(), expiresAt: MoreThan(now) },
          { usedAt: now, usedByAgentId: usedByAgentId ?? null },
        );
        return affected(r) ? m.findOneBy(E, { tokenHash }) : null;
      }),

    markEnrollmentTokenUsedBy: async (tokenId, agentId) =>
      validId(tokenId)
        ? ctx.run(`mark enrollment token ${tokenId} used`, async (m) =>
            affected(await m.update(E, { id: tokenId }, { usedByAgentId: agentId })),
          )
        : false,

    deleteEnrollmentToken: async (id) =>
      validId(id) ? ctx.run(`delete enrollment token ${id}`, async (m) => affected(await m.delete(E, { id }))) : false,
  };
}
