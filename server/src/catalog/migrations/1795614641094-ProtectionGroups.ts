/**
 * Migration 2: protection (issue 3). New tables vaults, online_policies,
 * protection_groups, alerts, notification_channels; data_sources gains
 * group_id (at most one group; SET NULL when the group goes) and
 * recovery_points gains vault_id. FROZEN once released, like the first one:
 * its column choices are copied here, not imported from the entities.
 */
import {
  Table,
  TableColumn,
  TableForeignKey,
  TableIndex,
  type MigrationInterface,
  type QueryRunner,
  type TableColumnOptions,
} from 'typeorm';

function kit(qr: QueryRunner) {
  const pg = qr.connection.driver.options.type === 'postgres';
  const col = (name: string, type: string, extra: Partial<TableColumnOptions> = {}): TableColumnOptions => ({
    name,
    type,
    isNullable: false,
    ...extra,
  });
  return {
    id: (name: string, nullable = false) => col(name, 'varchar', { length: '36', isNullable: nullable }),
    pk: (name: string) => col(name, 'varchar', { length: '36', isPrimary: true }),
    ts: (name: string, nullable = false) => col(name, pg ? 'timestamptz' : 'datetime', { isNullable: nullable }),
    integer: (name: string) => col(name, 'integer'),
    boolean: (name: string) => col(name, 'boolean'),
    varchar: (name: string, length: number, nullable = false) =>
      col(name, 'varchar', { length: String(length), isNullable: nullable }),
    text: (name: string, nullable = false) => col(name, 'text', { isNullable: nullable }),
  };
}

export class ProtectionGroups1795614641094 implements MigrationInterface {
  name = 'ProtectionGroups1795614641094';

  async up(qr: QueryRunner): Promise<void> {
    const k = kit(qr);

    await qr.createTable(
      new Table({
        name: 'vaults',
        columns: [k.pk('id'), k.varchar('name', 255), k.varchar('kind', 32), k.text('config'), k.ts('created_at')],
        indices: [new TableIndex({ name: 'IDX_vaults_name', columnNames: ['name'], isUnique: true })],
      }),
    );

    await qr.createTable(
      new Table({
        name: 'online_policies',
        columns: [k.pk('id'), k.varchar('name', 255), k.text('spec'), k.ts('created_at'), k.ts('updated_at')],
        indices: [new TableIndex({ name: 'IDX_online_policies_name', columnNames: ['name'], isUnique: true })],
      }),
    );

    await qr.createTable(
      new Table({
        name: 'protection_groups',
        columns: [
          k.pk('id'),
          k.varchar('name', 255),
          k.integer('sync_frequency_minutes'),
          k.integer('retention_days'),
          k.integer('max_points'),
          k.id('online_policy_id', true),
          k.varchar('state', 16),
          k.ts('created_at'),
          k.ts('updated_at'),
        ],
        indices: [
          new TableIndex({ name: 'IDX_protection_groups_name', columnNames: ['name'], isUnique: true }),
          new TableIndex({ name: 'IDX_protection_groups_policy', columnNames: ['online_policy_id'] }),
        ],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_protection_groups_policy',
            columnNames: ['online_policy_id'],
            referencedTableName: 'online_policies',
            referencedColumnNames: ['id'],
            onDelete: 'RESTRICT',
          }),
        ],
      }),
    );

    await qr.createTable(
      new Table({
        name: 'alerts',
        columns: [
          k.pk('id'),
          k.varchar('key', 255),
          k.varchar('kind', 32),
          k.varchar('severity', 16),
          k.varchar('state', 16),
          k.text('subject'),
          k.text('message'),
          k.text('details', true),
          k.ts('raised_at'),
          k.ts('resolved_at', true),
        ],
        indices: [
          // At most one active alert per key: what makes raiseAlert raise once.
          new TableIndex({ name: 'IDX_alerts_active_key', columnNames: ['key'], isUnique: true, where: `"state" = 'active'` }),
          new TableIndex({ name: 'IDX_alerts_raised', columnNames: ['raised_at'] }),
        ],
      }),
    );

    await qr.createTable(
      new Table({
        name: 'notification_channels',
        columns: [
          k.pk('id'),
          k.varchar('name', 255),
          k.varchar('kind', 16),
          k.text('config'),
          k.boolean('enabled'),
          k.ts('created_at'),
        ],
        indices: [new TableIndex({ name: 'IDX_notification_channels_name', columnNames: ['name'], isUnique: true })],
      }),
    );

    await qr.addColumn('data_sources', new TableColumn(k.id('group_id', true)));
    await qr.createIndex('data_sources', new TableIndex({ name: 'IDX_data_sources_group', columnNames: ['group_id'] }));
    await qr.createForeignKey(
      'data_sources',
      new TableForeignKey({
        name: 'FK_data_sources_group',
        columnNames: ['group_id'],
        referencedTableName: 'protection_groups',
        referencedColumnNames: ['id'],
        onDelete: 'SET NULL',
      }),
    );

    await qr.addColumn('recovery_points', new TableColumn(k.id('vault_id', true)));
    await qr.createIndex('recovery_points', new TableIndex({ name: 'IDX_recovery_points_vault', columnNames: ['vault_id'] }));
    await qr.createForeignKey(
      'recovery_points',
      new TableForeignKey({
        name: 'FK_recovery_points_vault',
        columnNames: ['vault_id'],
        referencedTableName: 'vaults',
        referencedColumnNames: ['id'],
        onDelete: 'RESTRICT',
      }),
    );
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.dropForeignKey('recovery_points', 'FK_recovery_points_vault');
    await qr.dropIndex('recovery_points', 'IDX_recovery_points_vault');
    await qr.dropColumn('recovery_points', 'vault_id');
    await qr.dropForeignKey('data_sources', 'FK_data_sources_group');
    await qr.dropIndex('data_sources', 'IDX_data_sources_group');
    await qr.dropColumn('data_sources', 'group_id');
    await qr.dropTable('notification_channels');
    await qr.dropTable('alerts');
    await qr.dropTable('protection_groups');
    await qr.dropTable('online_policies');
    await qr.dropTable('vaults');
  }
}
