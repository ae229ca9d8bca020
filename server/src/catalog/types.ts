/**
 * The catalog's records as the rest of the server sees them: plain objects,
 * ids as uuid strings, times as Date, sizes and counts as JS numbers, JSON
 * columns already parsed. Both engines return exactly these shapes.
 */

export interface Agent {
  id: string;
  /** Unique; defaults to the hostname at enrollment. */
  name: string;
  hostname: string;
  /** PEM (SPKI) of the agent's Ed25519 public key. */
  publicKey: string;
  createdAt: Date;
  lastSeenAt: Date | null;
  revokedAt: Date | null;
  version: string | null;
}

export interface EnrollmentToken {
  id: string;
  /** sha256 hex of the secret handed to the installer; the secret itself is never stored. */
  tokenHash: string;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
  usedByAgentId: string | null;
}

export type DataSourceKind = 'files';

/** A protected data source (named DataSourceRecord to stay clear of TypeORM's DataSource). */
export interface DataSourceRecord {
  id: string;
  agentId: string;
  /** Unique per agent. */
  name: string;
  kind: DataSourceKind;
  paths: string[];
  includes: string[];
  excludes: string[];
  createdAt: Date;
  /** The protection group it belongs to (at most one), or null; changed only through setDataSourceGroup. */
  groupId: string | null;
}

export type PointLocation = 'disk' | 'vault' | 'both';

export interface RecoveryPoint {
  id: string;
  dataSourceId: string;
  agentId: string;
  jobId: string;
  createdAt: Date;
  /** Hex chunk hashes of the root tree, in order. */
  root: string[];
  files: number;
  dirs: number;
  /** Logical size of the protected data. */
  bytes: number;
  /** Bytes newly written to the chunk store by this point. */
  bytesAdded: number;
  /** The point this one was taken incrementally against; null for a full backup or once the parent is deleted. */
  parentPointId: string | null;
  location: PointLocation;
  /** The vault holding its online copy (location 'vault' or 'both'), else null. */
  vaultId: string | null;
}

export type JobType = 'backup' | 'restore' | 'upload' | 'prune' | 'gc' | 'verify';
export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'warning';
export type FinalJobState = Extract<JobState, 'succeeded' | 'failed' | 'cancelled' | 'warning'>;

export const JOB_TYPES: readonly JobType[] = ['backup', 'restore', 'upload', 'prune', 'gc', 'verify'];
export const JOB_STATES: readonly JobState[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'warning'];
export const ACTIVE_JOB_STATES: readonly JobState[] = ['queued', 'running'];
export const FINAL_JOB_STATES: readonly FinalJobState[] = ['succeeded', 'failed', 'cancelled', 'warning'];

/** JSON-serialisable value (params, result). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface JobCounters {
  bytesScanned: number;
  bytesSent: number;
  bytesStored: number;
  filesScanned: number;
  filesChanged: number;
  filesTotal: number;
  /** Expected total, when known, for an ETA. */
  bytesTotal: number | null;
}

export interface Job extends JobCounters {
  id: string;
  type: JobType;
  state: JobState;
  agentId: string | null;
  dataSourceId: string | null;
  pointId: string | null;
  params: { [key: string]: Json };
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  errorMessage: string | null;
  /** The first MAX_JOB_WARNINGS warnings; warningCount says how many were reported in all. */
  warnings: string[];
  warningCount: number;
  result: Json;
}

/** Warnings kept per job, and the longest message kept (longer ones are cut). */
export const MAX_JOB_WARNINGS = 100;
export const MAX_WARNING_LENGTH = 2000;

// ---- inputs ---------------------------------------------------------------

export interface NewAgent {
  /** A uuid chosen by the caller (a disaster-recovery attach keeps the lost server's ids); generated when absent. */
  id?: string;
  /** Defaults to hostname. */
  name?: string;
  hostname: string;
  publicKey: string;
  version?: string | null;
}

export interface NewDataSource {
  /** A uuid chosen by the caller (a disaster-recovery attach keeps the lost server's ids); generated when absent. */
  id?: string;
  agentId: string;
  name: string;
  kind?: DataSourceKind;
  paths: string[];
  includes?: string[];
  excludes?: string[];
}

export type DataSourcePatch = Partial<Pick<DataSourceRecord, 'name' | 'paths' | 'includes' | 'excludes'>>;

export interface NewRecoveryPoint {
  /** A uuid chosen by the caller (e.g. to name files before the point is recorded); generated when absent. */
  id?: string;
  dataSourceId: string;
  agentId: string;
  jobId: string;
  root: string[];
  files: number;
  dirs: number;
  bytes: number;
  bytesAdded: number;
  parentPointId?: string | null;
  location?: PointLocation;
  vaultId?: string | null;
  /** Defaults to the catalog clock's now. */
  createdAt?: Date;
}

export interface NewJob {
  type: JobType;
  agentId?: string | null;
  dataSourceId?: string | null;
  pointId?: string | null;
  params?: { [key: string]: Json };
  /** Defaults to 'queued'. */
  state?: Extract<JobState, 'queued' | 'running'>;
  /** Only for state 'running'; defaults to now. */
  startedAt?: Date;
}

export interface RecoveryPointFilter {
  dataSourceId?: string;
  agentId?: string;
  vaultId?: string;
}

export interface JobFilter {
  type?: JobType | JobType[];
  state?: JobState | JobState[];
  agentId?: string;
  dataSourceId?: string;
  /** createdAt >= since */
  since?: Date;
  /** createdAt < before */
  before?: Date;
  /** Newest first; default 100, at most 1000. */
  limit?: number;
  offset?: number;
}

/** Fields a running job may update; every field is optional. */
export interface JobProgress extends Partial<JobCounters> {
  state?: Extract<JobState, 'queued' | 'running'>;
  startedAt?: Date;
  pointId?: string | null;
  agentId?: string | null;
  dataSourceId?: string | null;
}

/** Fields set when a job ends. */
export interface JobOutcome extends Partial<JobCounters> {
  errorMessage?: string | null;
  result?: Json;
  pointId?: string | null;
  warnings?: string[];
}

// ---- protection: vaults, online policies, groups, alerts, channels ---------

/** A JSON object (a parsed JSON column whose shape another module owns). */
export type JsonObject = { [key: string]: Json };

export type VaultKind = 'local' | 'azure' | 's3';
export const VAULT_KINDS: readonly VaultKind[] = ['local', 'azure', 's3'];
/** Azure Backup's redundancy: LRS = one target; ZRS and GRS = a primary and a secondary target. */
export type VaultRedundancy = 'LRS' | 'ZRS' | 'GRS';
export const VAULT_REDUNDANCIES: readonly VaultRedundancy[] = ['LRS', 'ZRS', 'GRS'];
/** 'creating' / 'attaching' while the service sets the vault up (the name is reserved); 'ready' after. */
export type VaultState = 'creating' | 'attaching' | 'ready';
export const VAULT_STATES: readonly VaultState[] = ['creating', 'attaching', 'ready'];
export const DEFAULT_SOFT_DELETE_DAYS = 14;

/**
 * One storage target of a vault: the backend kind and its settings as
 * vault/backends/config.ts defines them, without `kind` (local: `{path}`;
 * azure: container, connection string or account URL + key / SAS; s3: bucket,
 * region, keys, …). Secrets are stored here; the API never returns them.
 */
export interface VaultTarget {
  kind: VaultKind;
  config: JsonObject;
}

/** The long-term tier: a primary target, an optional secondary one, and its protections. */
export interface Vault {
  id: string;
  /** Unique. */
  name: string;
  /** The primary target's kind and settings. */
  kind: VaultKind;
  config: JsonObject;
  /** The secondary target (redundancy ZRS / GRS), else null. */
  secondary: VaultTarget | null;
  /** LRS iff there is no secondary. */
  redundancy: VaultRedundancy;
  /** Days a deleted online point is kept (and can be undeleted) before it is purged; 0 = soft delete off. */
  softDeleteDays: number;
  /** Deleting online points (and lowering retention below Azure's minimums) is refused. */
  immutable: boolean;
  /** The vault's own id (its config object's vaultId), once the backend is initialized. */
  vaultUid: string | null;
  state: VaultState;
  createdAt: Date;
}

/**
 * The online copy of one recovery point (table vault_points): recorded only
 * once its manifest is in the vault. The recovery point itself says where it
 * lives (location 'vault' / 'both', vaultId).
 */
export interface VaultPointRecord {
  pointId: string;
  vaultId: string;
  uploadedAt: Date;
  /** Distinct chunks the point references in the vault. */
  chunks: number;
  /** Object bytes the upload sent (0 for an imported point). */
  bytesSent: number;
  /** Recorded by a disaster-recovery attach (read from the vault), not uploaded by this server. */
  imported: boolean;
  /** Soft delete: when it was deleted (null while live) and when it may be purged. */
  deletedAt: Date | null;
  purgeAfter: Date | null;
}

/**
 * An online (vault) policy. The catalog stores `spec` as JSON and hands it
 * back parsed but unvalidated: its shape is retention/policy.ts's
 * OnlinePolicySpec, and callers run it through parseOnlinePolicy() (the
 * catalog is a bottom layer and does not import retention code).
 */
export interface OnlinePolicy {
  id: string;
  /** Unique. */
  name: string;
  spec: JsonObject;
  createdAt: Date;
  updatedAt: Date;
}

export type ProtectionState = 'active' | 'stopped';
export const PROTECTION_STATES: readonly ProtectionState[] = ['active', 'stopped'];

/** Data sources sharing one short-term policy (inline) and at most one online policy. */
export interface ProtectionGroup {
  id: string;
  /** Unique. */
  name: string;
  syncFrequencyMinutes: number;
  retentionDays: number;
  maxPoints: number;
  onlinePolicyId: string | null;
  /** 'stopped': no new jobs run for its members; their existing points stay until pruned. */
  state: ProtectionState;
  createdAt: Date;
  updatedAt: Date;
}

export type AlertKind = 'job-failed' | 'agent-offline' | 'missed-sla' | 'disk-space' | 'vault-unreachable' | 'vault-damaged';
export const ALERT_KINDS: readonly AlertKind[] = ['job-failed', 'agent-offline', 'missed-sla', 'disk-space', 'vault-unreachable', 'vault-damaged'];
export type AlertSeverity = 'warning' | 'error';
export const ALERT_SEVERITIES: readonly AlertSeverity[] = ['warning', 'error'];
export type AlertState = 'active' | 'resolved';
export const ALERT_STATES: readonly AlertState[] = ['active', 'resolved'];

export interface Alert {
  id: string;
  /** Dedup key, e.g. 'agent-offline:<agentId>': at most one active alert per key. */
  key: string;
  kind: AlertKind;
  severity: AlertSeverity;
  state: AlertState;
  subject: string;
  message: string;
  details: Json;
  raisedAt: Date;
  resolvedAt: Date | null;
}

export type NotificationChannelKind = 'email' | 'webhook';
export const NOTIFICATION_CHANNEL_KINDS: readonly NotificationChannelKind[] = ['email', 'webhook'];

/** Where alert notifications go; `config` is the notifier's (SMTP or webhook settings), unvalidated here. */
export interface NotificationChannel {
  id: string;
  /** Unique. */
  name: string;
  kind: NotificationChannelKind;
  config: JsonObject;
  enabled: boolean;
  createdAt: Date;
}

export interface NewVault {
  name: string;
  kind?: VaultKind;
  /** local: `{ path }` (required); azure: needs `container`; s3: needs `bucket` (the rest is the backend's to check). */
  config: object;
  secondary?: VaultTarget | null;
  /** Defaults to GRS with a secondary, LRS without. */
  redundancy?: VaultRedundancy;
  /** Defaults to DEFAULT_SOFT_DELETE_DAYS. */
  softDeleteDays?: number;
  immutable?: boolean;
  vaultUid?: string | null;
  /** Defaults to 'ready'. */
  state?: VaultState;
}

export type VaultPatch = Partial<Pick<Vault, 'state' | 'vaultUid' | 'softDeleteDays' | 'immutable'>>;

export interface NewVaultPoint {
  pointId: string;
  vaultId: string;
  /** Defaults to now. */
  uploadedAt?: Date;
  chunks: number;
  bytesSent: number;
  imported?: boolean;
}

export interface VaultPointFilter {
  vaultId?: string;
  /** 'live' (default): not deleted; 'deleted': soft-deleted; 'all'. */
  state?: 'live' | 'deleted' | 'all';
}

export interface NewOnlinePolicy {
  name: string;
  /** Any JSON object (a parsed OnlinePolicySpec); stored as JSON text. */
  spec: object;
}

export interface OnlinePolicyPatch {
  name?: string;
  spec?: object;
}

export interface NewProtectionGroup {
  name: string;
  syncFrequencyMinutes: number;
  retentionDays: number;
  maxPoints: number;
  onlinePolicyId?: string | null;
  /** Defaults to 'active'. */
  state?: ProtectionState;
}

export type ProtectionGroupPatch = Partial<
  Pick<ProtectionGroup, 'name' | 'syncFrequencyMinutes' | 'retentionDays' | 'maxPoints' | 'onlinePolicyId' | 'state'>
>;

export interface NewAlert {
  key: string;
  kind: AlertKind;
  severity: AlertSeverity;
  subject: string;
  message: string;
  details?: Json;
}

export interface AlertFilter {
  state?: AlertState;
  /** Newest first; default 100, at most 1000. */
  limit?: number;
}

export interface NewNotificationChannel {
  name: string;
  kind: NotificationChannelKind;
  /** Any JSON object; stored as JSON text. */
  config: object;
  /** Defaults to true. */
  enabled?: boolean;
}

export interface NotificationChannelPatch {
  name?: string;
  config?: object;
  enabled?: boolean;
}
