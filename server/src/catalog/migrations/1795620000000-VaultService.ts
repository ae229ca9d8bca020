/**
 * Migration 3: the vault service (issue 4). vaults gains its cloud settings
 * (secondary target, redundancy, soft-delete days, immutability, the vault's
 * own id, state); the new table vault_points holds the online copy of each
 * recovery point (upload time, soft delete). FROZEN once released: its
 * column choices are copied here, not imported from the entities.
 */
import { Table, TableColumn, TableForeignKey, TableIndex, type MigrationInterface, type QueryRunner, type TableColumnOptions } from 'typeorm';

function kit(qr: QueryRunner) {
  const pg = qr.connection.driver.options.type === 'postgres';
  const col = (name: string, type: string, extra: Partial<TableColumnOptions> = {}): TableColumnOptions => ({ name, type, isNullable: false, ...extra });
  return {
    id: (name: string, extra: Partial<TableColumnOptions> = {}) => col(name, 'varchar', { length: '36', ...extra }),
    ts: (name: string, nullable = false) => col(name, pg ? 'timestamptz' : 'datetime', { isNullable: nullable }),
    bigint: (name: string) => col(name, 'bigint'),
    integer: (name: string, dflt?: number) => col(name, 'integer', dflt === undefined ? {} : { default: dflt }),
    // A boolean default is written as the engine stores it (SQLite keeps 0 / 1), so entities and migration agree.
    boolean: (name: string, dflt?: boolean) => col(name, 'boolean', dflt === undefined ? {} : { default: pg ? String(dflt) : dflt ? '1' : '0' }),
    varchar: (name: string, length: number, extra: Partial<TableColumnOptions> = {}) => col(name, 'varchar', { length: String(length), ...extra }),
    text: (name: string, nullable = false) => col(name, 'text', { isNullable: nullable }),
  };
}

export class VaultService1795620000000 implements MigrationInterface {
  name = 'VaultService1795620000000';

  async up(qr: QueryRunner): Promise<void> {
    const k = kit(qr);
    await qr.addColumns('vaults', [
      new TableColumn(k.text('secondary', true)),
      new TableColumn(k.varchar('redundancy', 8, { default: "'LRS'" })),
      new TableColumn(k.integer('soft_delete_days', 14)),
      new TableColumn(k.boolean('immutable', false)),
      new TableColumn(k.varchar('vault_uid', 64, { isNullable: true })),
      new TableColumn(k.varchar('state', 16, { default: "'ready'" })),
    ]);
    await qr.createTable(
      new Table({
        name: 'vault_points',
        columns: [
          k.id('point_id', { isPrimary: true }),
          k.id('vault_id'),
          k.ts('uploaded_at'),
          k.bigint('chunks'),
          k.bigint('bytes_sent'),
          k.boolean('imported'),
          k.ts('deleted_at', true),
          k.ts('purge_after', true),
        ],
        indices: [
          new TableIndex({ name: 'IDX_vault_points_vault', columnNames: ['vault_id'] }),
          new TableIndex({ name: 'IDX_vault_points_purge', columnNames: ['purge_after'] }),
        ],
        foreignKeys: [
          new TableForeignKey({ name: 'FK_vault_points_point', columnNames: ['point_id'], referencedTableName: 'recovery_points', referencedColumnNames: ['id'], onDelete: 'CASCADE' }),
          new TableForeignKey({ name: 'FK_vault_points_vault', columnNames: ['vault_id'], referencedTableName: 'vaults', referencedColumnNames: ['id'], onDelete: 'RESTRICT' }),
        ],
      }),
    );
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.dropTable('vault_points');
    for (const c of ['state', 'vault_uid', 'immutable', 'soft_delete_days', 'redundancy', 'secondary']) await qr.dropColumn('vaults', c);
  }
}
