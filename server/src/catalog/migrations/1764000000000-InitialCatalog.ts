/**
 * Migration 1: the initial catalog (agents, enrollment tokens, data sources,
 * recovery points, jobs). Written with TypeORM's schema API so that it runs on
 * SQLite and PostgreSQL alike. FROZEN once released: never edit, add a new
 * migration instead. Its column choices are deliberately copied here rather
 * than imported from the entity schemas, so that later entity edits cannot
 * change what this migration did.
 */
import {
  Table,
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
    bigint: (name: string, nullable = false) => col(name, 'bigint', { isNullable: nullable }),
    integer: (name: string) => col(name, 'integer'),
    varchar: (name: string, length: number, nullable = false) =>
      col(name, 'varchar', { length: String(length), isNullable: nullable }),
    text: (name: string, nullable = false) => col(name, 'text', { isNullable: nullable }),
  };
}

export class InitialCatalog1764000000000 implements MigrationInterface {
  name = 'InitialCatalog1764000000000';

  async up(qr: QueryRunner): Promise<void> {
    const k = kit(qr);

    await qr.createTable(
      new Table({
        name: 'agents',
        columns: [
          k.pk('id'),
          k.varchar('name', 255),
          k.varchar('hostname', 255),
          k.text('public_key'),
          k.ts('created_at'),
          k.ts('last_seen_at', true),
          k.ts('revoked_at', true),
          k.varchar('version', 64, true),
        ],
        indices: [new TableIndex({ name: 'IDX_agents_name', columnNames: ['name'], isUnique: true })],
      }),
    );

    await qr.createTable(
      new Table({
        name: 'enrollment_tokens',
        columns: [
          k.pk('id'),
          k.varchar('token_hash', 64),
          k.ts('created_at'),
          k.ts('expires_at'),
          k.ts('used_at', true),
          k.id('used_by_agent_id', true),
        ],
        indices: [new TableIndex({ name: 'IDX_enrollment_tokens_hash', columnNames: ['token_hash'], isUnique: true })],
      }),
    );

    await qr.createTable(
      new Table({
        name: 'data_sources',
        columns: [
          k.pk('id'),
          k.id('agent_id'),
          k.varchar('name', 255),
          k.varchar('kind', 32),
          k.text('paths'),
          k.text('includes'),
          k.text('excludes'),
          k.ts('created_at'),
        ],
        indices: [
          new TableIndex({ name: 'IDX_data_sources_agent_name', columnNames: ['agent_id', 'name'], isUnique: true }),
        ],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_data_sources_agent',
            columnNames: ['agent_id'],
            referencedTableName: 'agents',
            referencedColumnNames: ['id'],
            onDelete: 'RESTRICT',
          }),
        ],
      }),
    );

    await qr.createTable(
      new Table({
        name: 'recovery_points',
        columns: [
          k.pk('id'),
          k.id('data_source_id'),
          k.id('agent_id'),
          k.id('job_id'),
          k.ts('created_at'),
          k.text('root'),
          k.bigint('files'),
          k.bigint('dirs'),
          k.bigint('bytes'),
          k.bigint('bytes_added'),
          k.id('parent_point_id', true),
          k.varchar('location', 16),
        ],
        indices: [
          new TableIndex({ name: 'IDX_recovery_points_source_created', columnNames: ['data_source_id', 'created_at'] }),
          new TableIndex({ name: 'IDX_recovery_points_agent', columnNames: ['agent_id'] }),
        ],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_recovery_points_source',
            columnNames: ['data_source_id'],
            referencedTableName: 'data_sources',
            referencedColumnNames: ['id'],
            onDelete: 'RESTRICT',
          }),
          new TableForeignKey({
            name: 'FK_recovery_points_agent',
            columnNames: ['agent_id'],
            referencedTableName: 'agents',
            referencedColumnNames: ['id'],
            onDelete: 'RESTRICT',
          }),
          new TableForeignKey({
            name: 'FK_recovery_points_parent',
            columnNames: ['parent_point_id'],
            referencedTableName: 'recovery_points',
            referencedColumnNames: ['id'],
            onDelete: 'SET NULL',
          }),
        ],
      }),
    );

    await qr.createTable(
      new Table({
        name: 'jobs',
        columns: [
          k.pk('id'),
          k.varchar('type', 16),
          k.varchar('state', 16),
          k.id('agent_id', true),
          k.id('data_source_id', true),
          k.id('point_id', true),
          k.text('params'),
          k.ts('created_at'),
          k.ts('started_at', true),
          k.ts('finished_at', true),
          k.bigint('bytes_scanned'),
          k.bigint('bytes_sent'),
          k.bigint('bytes_stored'),
          k.bigint('files_scanned'),
          k.bigint('files_changed'),
          k.bigint('files_total'),
          k.bigint('bytes_total', true),
          k.text('error_message', true),
          k.text('warnings'),
          k.integer('warning_count'),
          k.text('result', true),
        ],
        indices: [
          new TableIndex({ name: 'IDX_jobs_state', columnNames: ['state'] }),
          new TableIndex({ name: 'IDX_jobs_created', columnNames: ['created_at'] }),
          new TableIndex({ name: 'IDX_jobs_agent', columnNames: ['agent_id'] }),
          new TableIndex({ name: 'IDX_jobs_source', columnNames: ['data_source_id'] }),
        ],
      }),
    );
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.dropTable('jobs');
    await qr.dropTable('recovery_points');
    await qr.dropTable('data_sources');
    await qr.dropTable('enrollment_tokens');
    await qr.dropTable('agents');
  }
}
