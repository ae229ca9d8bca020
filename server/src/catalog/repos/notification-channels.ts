/** Notification channels: where alert notifications go (e-mail or webhook; config is the notifier's). */
import { randomUUID } from 'node:crypto';
import type { NotificationChannelOps } from '../catalog.js';
import type { RepoContext } from '../context.js';
import { CatalogError } from '../errors.js';
import type { NotificationChannelRow } from '../schema/entities.js';
import { NOTIFICATION_CHANNEL_KINDS, type NotificationChannel } from '../types.js';
import { affected, checkName, jsonObject, oneOf, validId } from './util.js';

const asChannel = (row: NotificationChannelRow | null) => row as NotificationChannel | null;

export function notificationChannelOps(ctx: RepoContext): NotificationChannelOps {
  const E = ctx.entities.notificationChannel;
  return {
    createNotificationChannel: async (input) => {
      const what = `create notification channel '${input.name}'`;
      checkName(what, input.name);
      oneOf(what, 'kind', input.kind, NOTIFICATION_CHANNEL_KINDS);
      const config = jsonObject(what, 'config', input.config);
      const enabled = input.enabled ?? true;
      if (typeof enabled !== 'boolean') throw new CatalogError('INVALID_REQUEST', `${what}: enabled must be true or false`);
      return ctx.run(what, async (m) => {
        const channel: NotificationChannelRow = {
          id: randomUUID(),
          name: input.name,
          kind: input.kind,
          config,
          enabled,
          createdAt: ctx.clock.now(),
        };
        await m.insert(E, channel as never);
        return channel as NotificationChannel;
      });
    },

    listNotificationChannels: () =>
      ctx.run(
        'list notification channels',
        async (m) => (await m.find(E, { order: { createdAt: 'ASC', name: 'ASC' } })) as NotificationChannel[],
      ),

    getNotificationChannel: async (id) =>
      validId(id)
        ? ctx.run(`get notification channel ${id}`, async (m) => asChannel(await m.findOneBy(E, { id })))
        : null,

    updateNotificationChannel: async (id, patch) => {
      const what = `update notification channel ${id}`;
      const fields: Partial<NotificationChannelRow> = {};
      if (patch.name !== undefined) {
        checkName(what, patch.name);
        fields.name = patch.name;
      }
      if (patch.config !== undefined) fields.config = jsonObject(what, 'config', patch.config);
      if (patch.enabled !== undefined) {
        if (typeof patch.enabled !== 'boolean') throw new CatalogError('INVALID_REQUEST', `${what}: enabled must be true or false`);
        fields.enabled = patch.enabled;
      }
      if (!validId(id)) return null;
      return ctx.atomic(what, async (m) => {
        if (Object.keys(fields).length > 0) await m.update(E, { id }, fields as never);
        return asChannel(await m.findOneBy(E, { id }));
      });
    },

    deleteNotificationChannel: async (id) =>
      validId(id)
        ? ctx.run(`delete notification channel ${id}`, async (m) => affected(await m.delete(E, { id })))
        : false,
  };
}
