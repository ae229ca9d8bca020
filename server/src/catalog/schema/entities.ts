/**
 * The catalog entities, as TypeORM EntitySchemas built per engine (the only
 * per-engine difference is the timestamp column type, see columns.ts).
 * EntitySchema rather than decorators: no reliance on decorator metadata, and
 * the rows are the plain objects of types.ts. Property names are camelCase,
 * tables and columns snake_case. Schema changes go through a new migration.
 */
import { EntitySchema } from 'typeorm';
import type {
  Agent,
  Alert,
  DataSourceRecord,
  EnrollmentToken,
  Job,
  NotificationChannel,
  OnlinePolicy,
  ProtectionGroup,
  RecoveryPoint,
  Vault,
  VaultPointRecord,
} from '../types.js';
import { columnKit, type Engine } from './columns.js';

/**
 * Job as TypeORM sees it: the recursive Json type of params / result sends
 * TypeORM's find-option types into infinite instantiation, so they are
 * loosened here; the repository hands out Job.
 */
export type JobRow = Omit<Job, 'params' | 'result'> & { params: Record<string, unknown>; result: unknown };
/** The same loosening for the other records with JSON columns. */
export type OnlinePolicyRow = Omit<OnlinePolicy, 'spec'> & { spec: Record<string, unknown> };
export type AlertRow = Omit<Alert, 'details'> & { details: unknown };
export type NotificationChannelRow = Omit<NotificationChannel, 'config'> & { config: Record<string, unknown> };
export type VaultRow = Omit<Vault, 'config' | 'secondary'> & { config: Record<string, unknown>; secondary: unknown };

export interface CatalogEntities {
  agent: EntitySchema<Agent>;
  enrollmentToken: EntitySchema<EnrollmentToken>;
  dataSource: EntitySchema<DataSourceRecord>;
  recoveryPoint: EntitySchema<RecoveryPoint>;
  job: EntitySchema<JobRow>;
  vault: EntitySchema<VaultRow>;
  vaultPoint: EntitySchema<VaultPointRecord>;
  onlinePolicy: EntitySchema<OnlinePolicyRow>;
  protectionGroup: EntitySchema<ProtectionGroup>;
  alert: EntitySchema<AlertRow>;
  notificationChannel: EntitySchema<NotificationChannelRow>;
}

export function buildEntities(engine: Engine): CatalogEntities {
  const c = columnKit(engine);

  const agent = new EntitySchema<Agent>({
    name: 'agent',
    tableName: 'agents',
    columns: {
      id: c.id('id', { primary: true }),
      name: c.varchar('name', 255),
      hostname: c.varchar('hostname', 255),
      publicKey: c.text('public_key'),
      createdAt: c.timestamp('created_at'),
      lastSeenAt: c.timestamp('last_seen_at', { nullable: true }),
      revokedAt: c.timestamp('revoked_at', { nullable: true }),
      version: c.varchar('version', 64, { nullable: true }),
    },
    indices: [{ name: 'IDX_agents_name', columns: ['name'], unique: true }],
  });

  const enrollmentToken = new EntitySchema<EnrollmentToken>({
    name: 'enrollment_token',
    tableName: 'enrollment_tokens',
    columns: {
      id: c.id('id', { primary: true }),
      tokenHash: c.varchar('token_hash', 64),
      createdAt: c.timestamp('created_at'),
      expiresAt: c.timestamp('expires_at'),
      usedAt: c.timestamp('used_at', { nullable: true }),
      usedByAgentId: c.id('used_by_agent_id', { nullable: true }),
    },
    indices: [{ name: 'IDX_enrollment_tokens_hash', columns: ['tokenHash'], unique: true }],
  });

  const dataSource = new EntitySchema<DataSourceRecord>({
    name: 'data_source',
    tableName: 'data_sources',
    columns: {
      id: c.id('id', { primary: true }),
      agentId: c.id('agent_id'),
      name: c.varchar('name', 255),
      kind: c.varchar('kind', 32),
      paths: c.json('paths'),
      includes: c.json('includes'),
      excludes: c.json('excludes'),
      createdAt: c.timestamp('created_at'),
      groupId: c.id('group_id', { nullable: true }),
    },
    indices: [
      { name: 'IDX_data_sources_agent_name', columns: ['agentId', 'name'], unique: true },
      { name: 'IDX_data_sources_group', columns: ['groupId'] },
    ],
    foreignKeys: [
      {
        name: 'FK_data_sources_agent',
        target: 'agent',
        columnNames: ['agentId'],
        referencedColumnNames: ['id'],
        onDelete: 'RESTRICT',
      },
      {
        name: 'FK_data_sources_group',
        target: 'protection_group',
        columnNames: ['groupId'],
        referencedColumnNames: ['id'],
        onDelete: 'SET NULL',
      },
    ],
  });

  const recoveryPoint = new EntitySchema<RecoveryPoint>({
    name: 'recovery_point',
    tableName: 'recovery_points',
    columns: {
      id: c.id('id', { primary: true }),
      dataSourceId: c.id('data_source_id'),
      agentId: c.id('agent_id'),
      jobId: c.id('job_id'),
      createdAt: c.timestamp('created_at'),
      root: c.json('root'),
      files: c.bigint('files'),
      dirs: c.bigint('dirs'),
      bytes: c.bigint('bytes'),
      bytesAdded: c.bigint('bytes_added'),
      parentPointId: c.id('parent_point_id', { nullable: true }),
      location: c.varchar('location', 16),
      vaultId: c.id('vault_id', { nullable: true }),
    },
    indices: [
      { name: 'IDX_recovery_points_source_created', columns: ['dataSourceId', 'createdAt'] },
      { name: 'IDX_recovery_points_agent', columns: ['agentId'] },
      { name: 'IDX_recovery_points_vault', columns: ['vaultId'] },
    ],
    foreignKeys: [
      {
        name: 'FK_recovery_points_source',
        target: 'data_source',
        columnNames: ['dataSourceId'],
        referencedColumnNames: ['id'],
        onDelete: 'RESTRICT',
      },
      {
        name: 'FK_recovery_points_agent',
        target: 'agent',
        columnNames: ['agentId'],
        referencedColumnNames: ['id'],
        onDelete: 'RESTRICT',
      },
      {
        name: 'FK_recovery_points_parent',
        target: 'recovery_point',
        columnNames: ['parentPointId'],
        referencedColumnNames: ['id'],
        onDelete: 'SET NULL',
      },
      {
        name: 'FK_recovery_points_vault',
        target: 'vault',
        columnNames: ['vaultId'],
        referencedColumnNames: ['id'],
        onDelete: 'RESTRICT',
      },
    ],
  });

  // Jobs are history: their agent / data source / point ids are kept as plain
  // indexed columns (no foreign keys) so that deleting those leaves the record.
  const job = new EntitySchema<JobRow>({
    name: 'job',
    tableName: 'jobs',
    columns: {
      id: c.id('id', { primary: true }),
      type: c.varchar('type', 16),
      state: c.varchar('state', 16),
      agentId: c.id('agent_id', { nullable: true }),
      dataSourceId: c.id('data_source_id', { nullable: true }),
      pointId: c.id('point_id', { nullable: true }),
      params: c.json('params'),
      createdAt: c.timestamp('created_at'),
      startedAt: c.timestamp('started_at', { nullable: true }),
      finishedAt: c.timestamp('finished_at', { nullable: true }),
      bytesScanned: c.bigint('bytes_scanned'),
      bytesSent: c.bigint('bytes_sent'),
      bytesStored: c.bigint('bytes_stored'),
      filesScanned: c.bigint('files_scanned'),
      filesChanged: c.bigint('files_changed'),
      filesTotal: c.bigint('files_total'),
      bytesTotal: c.bigint('bytes_total', { nullable: true }),
      errorMessage: c.text('error_message', { nullable: true }),
      warnings: c.json('warnings'),
      warningCount: c.integer('warning_count'),
      result: c.json('result', { nullable: true }),
    },
    indices: [
      { name: 'IDX_jobs_state', columns: ['state'] },
      { name: 'IDX_jobs_created', columns: ['createdAt'] },
      { name: 'IDX_jobs_agent', columns: ['agentId'] },
      { name: 'IDX_jobs_source', columns: ['dataSourceId'] },
    ],
  });

  const vault = new EntitySchema<VaultRow>({
    name: 'vault',
    tableName: 'vaults',
    columns: {
      id: c.id('id', { primary: true }),
      name: c.varchar('name', 255),
      kind: c.varchar('kind', 32),
      config: c.json('config'),
      createdAt: c.timestamp('created_at'),
      // migration 3 (vault service)
      secondary: c.json('secondary', { nullable: true }),
      redundancy: { ...c.varchar('redundancy', 8), default: 'LRS' },
      softDeleteDays: { ...c.integer('soft_delete_days'), default: 14 },
      immutable: { ...c.boolean('immutable'), default: false },
      vaultUid: c.varchar('vault_uid', 64, { nullable: true }),
      state: { ...c.varchar('state', 16), default: 'ready' },
    },
    indices: [{ name: 'IDX_vaults_name', columns: ['name'], unique: true }],
  });

  // The online copy of a recovery point; goes with its point (CASCADE), keeps its vault (RESTRICT).
  const vaultPoint = new EntitySchema<VaultPointRecord>({
    name: 'vault_point',
    tableName: 'vault_points',
    columns: {
      pointId: c.id('point_id', { primary: true }),
      vaultId: c.id('vault_id'),
      uploadedAt: c.timestamp('uploaded_at'),
      chunks: c.bigint('chunks'),
      bytesSent: c.bigint('bytes_sent'),
      imported: c.boolean('imported'),
      deletedAt: c.timestamp('deleted_at', { nullable: true }),
      purgeAfter: c.timestamp('purge_after', { nullable: true }),
    },
    indices: [
      { name: 'IDX_vault_points_vault', columns: ['vaultId'] },
      { name: 'IDX_vault_points_purge', columns: ['purgeAfter'] },
    ],
    foreignKeys: [
      {
        name: 'FK_vault_points_point',
        target: 'recovery_point',
        columnNames: ['pointId'],
        referencedColumnNames: ['id'],
        onDelete: 'CASCADE',
      },
      {
        name: 'FK_vault_points_vault',
        target: 'vault',
        columnNames: ['vaultId'],
        referencedColumnNames: ['id'],
        onDelete: 'RESTRICT',
      },
    ],
  });

  const onlinePolicy = new EntitySchema<OnlinePolicyRow>({
    name: 'online_policy',
    tableName: 'online_policies',
    columns: {
      id: c.id('id', { primary: true }),
      name: c.varchar('name', 255),
      spec: c.json('spec'),
      createdAt: c.timestamp('created_at'),
      updatedAt: c.timestamp('updated_at'),
    },
    indices: [{ name: 'IDX_online_policies_name', columns: ['name'], unique: true }],
  });

  const protectionGroup = new EntitySchema<ProtectionGroup>({
    name: 'protection_group',
    tableName: 'protection_groups',
    columns: {
      id: c.id('id', { primary: true }),
      name: c.varchar('name', 255),
      syncFrequencyMinutes: c.integer('sync_frequency_minutes'),
      retentionDays: c.integer('retention_days'),
      maxPoints: c.integer('max_points'),
      onlinePolicyId: c.id('online_policy_id', { nullable: true }),
      state: c.varchar('state', 16),
      createdAt: c.timestamp('created_at'),
      updatedAt: c.timestamp('updated_at'),
    },
    indices: [
      { name: 'IDX_protection_groups_name', columns: ['name'], unique: true },
      { name: 'IDX_protection_groups_policy', columns: ['onlinePolicyId'] },
    ],
    foreignKeys: [
      {
        name: 'FK_protection_groups_policy',
        target: 'online_policy',
        columnNames: ['onlinePolicyId'],
        referencedColumnNames: ['id'],
        onDelete: 'RESTRICT',
      },
    ],
  });

  // Alerts are history (no foreign keys). At most one active alert per key:
  // a partial unique index, which both engines have, makes raising atomic.
  const alert = new EntitySchema<AlertRow>({
    name: 'alert',
    tableName: 'alerts',
    columns: {
      id: c.id('id', { primary: true }),
      key: c.varchar('key', 255),
      kind: c.varchar('kind', 32),
      severity: c.varchar('severity', 16),
      state: c.varchar('state', 16),
      subject: c.text('subject'),
      message: c.text('message'),
      details: c.json('details', { nullable: true }),
      raisedAt: c.timestamp('raised_at'),
      resolvedAt: c.timestamp('resolved_at', { nullable: true }),
    },
    indices: [
      { name: 'IDX_alerts_active_key', columns: ['key'], unique: true, where: ACTIVE_ALERT },
      { name: 'IDX_alerts_raised', columns: ['raisedAt'] },
    ],
  });

  const notificationChannel = new EntitySchema<NotificationChannelRow>({
    name: 'notification_channel',
    tableName: 'notification_channels',
    columns: {
      id: c.id('id', { primary: true }),
      name: c.varchar('name', 255),
      kind: c.varchar('kind', 16),
      config: c.json('config'),
      enabled: c.boolean('enabled'),
      createdAt: c.timestamp('created_at'),
    },
    indices: [{ name: 'IDX_notification_channels_name', columns: ['name'], unique: true }],
  });

  return { agent, enrollmentToken, dataSource, recoveryPoint, job, vault, vaultPoint, onlinePolicy, protectionGroup, alert, notificationChannel };
}

/** The partial index condition of IDX_alerts_active_key (the migration keeps its own copy). */
export const ACTIVE_ALERT = `"state" = 'active'`;
