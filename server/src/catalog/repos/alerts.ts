/** Alerts: raised once per condition (dedup key), resolved when it clears; kept as history. */
import { randomUUID } from 'node:crypto';
import type { AlertOps } from '../catalog.js';
import type { RepoContext } from '../context.js';
import { CatalogError } from '../errors.js';
import type { AlertRow } from '../schema/entities.js';
import { ALERT_KINDS, ALERT_SEVERITIES, ALERT_STATES, type Alert } from '../types.js';
import { validId, oneOf } from './util.js';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

const asAlert = (row: AlertRow | null) => row as Alert | null;

export function alertOps(ctx: RepoContext): AlertOps {
  const E = ctx.entities.alert;
  return {
    raiseAlert: async (input) => {
      const what = `raise alert '${input.key}'`;
      if (typeof input.key !== 'string' || input.key === '' || input.key.length > 255) {
        throw new CatalogError('INVALID_REQUEST', `${what}: the key must be 1 to 255 characters`);
      }
      oneOf(what, 'kind', input.kind, ALERT_KINDS);
      oneOf(what, 'severity', input.severity, ALERT_SEVERITIES);
      for (const f of ['subject', 'message'] as const) {
        if (typeof input[f] !== 'string') throw new CatalogError('INVALID_REQUEST', `${what}: ${f} must be a string`);
      }
      const row: AlertRow = {
        id: randomUUID(),
        key: input.key,
        kind: input.kind,
        severity: input.severity,
        state: 'active',
        subject: input.subject,
        message: input.message,
        details: input.details ?? null,
        raisedAt: ctx.clock.now(),
        resolvedAt: null,
      };
      return ctx.atomic(what, async (m) => {
        // The partial unique index on the active key decides between concurrent
        // raises; "do nothing" on conflict (ON CONFLICT DO NOTHING / INSERT OR
        // IGNORE) leaves no failed statement to abort a PostgreSQL transaction.
        await m.createQueryBuilder().insert().into(E).values(row as never).orIgnore().execute();
        const active = asAlert(await m.findOneBy(E, { key: input.key, state: 'active' }));
        if (!active) throw new CatalogError('CATALOG_UNAVAILABLE', `${what}: the active alert vanished; retry`);
        return { alert: active, created: active.id === row.id };
      });
    },

    resolveAlert: (key) =>
      ctx.atomic(`resolve alert '${key}'`, async (m) => {
        const active = await m.findOneBy(E, { key, state: 'active' });
        if (!active) return null;
        const resolvedAt = ctx.clock.now();
        const r = await m.update(E, { id: active.id, state: 'active' }, { state: 'resolved', resolvedAt });
        // A concurrent resolve got there first: it reports the alert, this call does not.
        if (!r.affected) return null;
        return { ...active, state: 'resolved', resolvedAt } as Alert;
      }),

    listAlerts: async (filter = {}) => {
      if (filter.state !== undefined) oneOf('list alerts', 'state', filter.state, ALERT_STATES);
      const take = Math.min(Math.max(Math.trunc(filter.limit ?? DEFAULT_LIMIT) || DEFAULT_LIMIT, 1), MAX_LIMIT);
      return ctx.run('list alerts', async (m) =>
        (await m.find(E, {
          where: filter.state !== undefined ? { state: filter.state } : {},
          order: { raisedAt: 'DESC', id: 'DESC' },
          take,
        })) as Alert[],
      );
    },

    getAlert: async (id) => (validId(id) ? ctx.run(`get alert ${id}`, async (m) => asAlert(await m.findOneBy(E, { id }))) : null),
  };
}
