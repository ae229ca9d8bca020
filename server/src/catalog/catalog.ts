/**
 * The Catalog interface: everything the server may ask of its database. The
 * contracts below hold on both engines (embedded SQLite and PostgreSQL).
 *
 * General contracts:
 * - `get*` returns null when the record does not exist; it never throws for
 *   an unknown or malformed id.
 * - Breaking a uniqueness rule throws CatalogError CONFLICT; naming a missing
 *   parent throws INVALID_REFERENCE; deleting a record others still refer to
 *   throws IN_USE. Bad arguments throw INVALID_REQUEST.
 * - Times are Date, sizes and counts JS numbers (safe integers; anything else
 *   is refused with a TypeError), JSON fields come back parsed.
 * - Lists are ordered: oldest first for agents, tokens, data sources, vaults,
 *   online policies, protection groups and notification channels; newest
 *   first for recovery points, jobs and alerts.
 * - Times the catalog sets itself (createdAt, lastSeenAt, usedAt, ...) come
 *   from the clock given to openCatalog().
 */
import type {
  Agent,
  Alert,
  AlertFilter,
  DataSourcePatch,
  DataSourceRecord,
  EnrollmentToken,
  FinalJobState,
  Job,
  JobFilter,
  JobOutcome,
  JobProgress,
  NewAgent,
  NewDataSource,
  NewJob,
  NewAlert,
  NewNotificationChannel,
  NewOnlinePolicy,
  NewProtectionGroup,
  NewRecoveryPoint,
  NewVault,
  NewVaultPoint,
  NotificationChannel,
  NotificationChannelPatch,
  OnlinePolicy,
  OnlinePolicyPatch,
  PointLocation,
  ProtectionGroup,
  ProtectionGroupPatch,
  RecoveryPoint,
  RecoveryPointFilter,
  Vault,
  VaultPatch,
  VaultPointFilter,
  VaultPointRecord,
} from './types.js';
import type { Engine } from './schema/columns.js';

export interface AgentOps {
  /** Creates an agent; name defaults to hostname. CONFLICT if the name is taken. */
  createAgent(input: NewAgent): Promise<Agent>;
  getAgent(id: string): Promise<Agent | null>;
  getAgentByName(name: string): Promise<Agent | null>;
  /** All agents, revoked ones included. */
  listAgents(): Promise<Agent[]>;
  /**
   * Records that the agent was seen: lastSeenAt = at (default now); version
   * when not undefined; hostname when non-empty. False if unknown.
   */
  touchAgent(id: string, at?: Date, version?: string | null, hostname?: string | null): Promise<boolean>;
  /** Sets revokedAt = now; revoking twice keeps the first time. False if unknown. */
  revokeAgent(id: string): Promise<boolean>;
}

export interface EnrollmentTokenOps {
  /** Stores the sha256 (hex) of a new single-use token. CONFLICT if the hash exists. */
  createEnrollmentToken(tokenHash: string, expiresAt: Date): Promise<EnrollmentToken>;
  getEnrollmentToken(id: string): Promise<EnrollmentToken | null>;
  listEnrollmentTokens(): Promise<EnrollmentToken[]>;
  /**
   * Atomically marks the token used, once: returns it (usedAt set), or null
   * when the hash is unknown, the token expired (expiresAt <= now) or was
   * used before. Of any number of concurrent calls at most one succeeds.
   */
  consumeEnrollmentToken(tokenHash: string, usedByAgentId?: string | null): Promise<EnrollmentToken | null>;
  /** Records which agent a consumed token enrolled. False if the token is unknown. */
  markEnrollmentTokenUsedBy(tokenId: string, agentId: string): Promise<boolean>;
  /** False if unknown. */
  deleteEnrollmentToken(id: string): Promise<boolean>;
}

export interface DataSourceOps {
  /** CONFLICT if the agent already has a data source of that name; INVALID_REFERENCE if the agent is unknown. */
  createDataSource(input: NewDataSource): Promise<DataSourceRecord>;
  getDataSource(id: string): Promise<DataSourceRecord | null>;
  getDataSourceByName(agentId: string, name: string): Promise<DataSourceRecord | null>;
  /** All data sources, or those of one agent. */
  listDataSources(agentId?: string): Promise<DataSourceRecord[]>;
  /** Changes name / paths / includes / excludes; returns the updated record, or null if unknown. */
  updateDataSource(id: string, patch: DataSourcePatch): Promise<DataSourceRecord | null>;
  /** False if unknown; IN_USE while recovery points of it remain. */
  deleteDataSource(id: string): Promise<boolean>;
}

export interface RecoveryPointOps {
  /** INVALID_REFERENCE if the data source, agent or parent point is unknown; CONFLICT if input.id exists. */
  createRecoveryPoint(input: NewRecoveryPoint): Promise<RecoveryPoint>;
  getRecoveryPoint(id: string): Promise<RecoveryPoint | null>;
  /** Newest first; filter by data source, agent and / or vault (all points when empty). */
  listRecoveryPoints(filter?: RecoveryPointFilter): Promise<RecoveryPoint[]>;
  /** The newest point of a data source (the parent of its next incremental backup). */
  latestRecoveryPoint(dataSourceId: string): Promise<RecoveryPoint | null>;
  /**
   * Every point id: garbage collection must treat all of them as live, so
   * every point must have a ref list in the chunk store (an empty one for a
   * point whose data is only in the vault).
   */
  listRecoveryPointIds(): Promise<string[]>;
  /**
   * Sets where a point lives; vaultId too when not undefined (INVALID_REFERENCE
   * if that vault is unknown). False if the point is unknown.
   */
  setRecoveryPointLocation(id: string, location: PointLocation, vaultId?: string | null): Promise<boolean>;
  /** False if unknown. Points that named this one as parent get parentPointId = null. */
  deleteRecoveryPoint(id: string): Promise<boolean>;
}

export interface JobOps {
  /** A new job, 'queued' unless input.state is 'running' (then startedAt defaults to now). */
  createJob(input: NewJob): Promise<Job>;
  getJob(id: string): Promise<Job | null>;
  /** Newest first; see JobFilter for the defaults. */
  listJobs(filter?: JobFilter): Promise<Job[]>;
  /** queued -> running with startedAt = now. False unless the job exists and is queued. */
  startJob(id: string): Promise<boolean>;
  /**
   * Applies a partial progress update to a job that has not ended. False if
   * the job is unknown or already ended (late progress is dropped).
   */
  updateJobProgress(id: string, progress: JobProgress): Promise<boolean>;
  /**
   * Appends warnings (each cut to MAX_WARNING_LENGTH); the job keeps the first
   * MAX_JOB_WARNINGS and counts all in warningCount. False if unknown.
   */
  addJobWarnings(id: string, messages: readonly string[]): Promise<boolean>;
  /**
   * Ends a job: the final state, finishedAt = now (startedAt too if it never
   * started), and the outcome's fields; outcome.warnings are appended as in
   * addJobWarnings. NOT_FOUND for an unknown job, JOB_FINISHED if it already
   * ended: the first finisher wins.
   */
  finishJob(id: string, state: FinalJobState, outcome?: JobOutcome): Promise<Job>;
  /** Jobs in state 'running', oldest first. */
  findRunningJobs(): Promise<Job[]>;
  /**
   * Ends every queued or running job as 'failed' with this message (for a
   * server start after a crash: no job survives its process). Returns how many.
   */
  failInterruptedJobs(message: string): Promise<number>;
}

export interface VaultOps {
  /**
   * kind defaults to 'local'; redundancy to GRS with a secondary target and
   * LRS without (LRS with a secondary, or ZRS / GRS without one, is
   * INVALID_REQUEST); softDeleteDays to 14; state to 'ready'. CONFLICT if
   * the name is taken. Secrets in the configs are stored as given.
   */
  createVault(input: NewVault): Promise<Vault>;
  getVault(id: string): Promise<Vault | null>;
  getVaultByName(name: string): Promise<Vault | null>;
  listVaults(): Promise<Vault[]>;
  /** Partial update of state, vaultUid, softDeleteDays, immutable; null if unknown. */
  updateVault(id: string, patch: VaultPatch): Promise<Vault | null>;
  /** False if unknown; IN_USE while recovery points or online copies refer to it. */
  deleteVault(id: string): Promise<boolean>;
}

export interface VaultPointOps {
  /**
   * Records the online copy of a recovery point, once its manifest is in the
   * vault, and in the same transaction sets the point's location ('disk' ->
   * 'both'; 'vault' stays) and vaultId. The same point and vault again
   * returns the existing record unchanged; another vault is CONFLICT;
   * INVALID_REFERENCE if the point or vault is unknown.
   */
  recordVaultPoint(input: NewVaultPoint): Promise<VaultPointRecord>;
  getVaultPoint(pointId: string): Promise<VaultPointRecord | null>;
  /** Newest upload first; live ones only unless filter.state says otherwise. */
  listVaultPoints(filter?: VaultPointFilter): Promise<VaultPointRecord[]>;
  /**
   * Soft delete: deletedAt (default now) and purgeAfter, if it is live (a
   * deleted one keeps its first times). Returns the record, null if unknown.
   */
  softDeleteVaultPoint(pointId: string, purgeAfter: Date, deletedAt?: Date): Promise<VaultPointRecord | null>;
  /** Clears deletedAt / purgeAfter; returns the record, null if unknown. */
  undeleteVaultPoint(pointId: string): Promise<VaultPointRecord | null>;
  /** Soft-deleted copies whose purgeAfter <= now, oldest purge time first. */
  listPurgeableVaultPoints(now: Date): Promise<VaultPointRecord[]>;
  /**
   * Forgets the online copy, atomically: the record goes, and the recovery
   * point goes back to 'disk' (from 'both') or is deleted (from 'vault').
   */
  removeVaultPoint(pointId: string): Promise<{ removed: boolean; pointDeleted: boolean }>;
}

export interface OnlinePolicyOps {
  /** spec must be a JSON object (it is not validated here: see OnlinePolicy). CONFLICT if the name is taken. */
  createOnlinePolicy(input: NewOnlinePolicy): Promise<OnlinePolicy>;
  getOnlinePolicy(id: string): Promise<OnlinePolicy | null>;
  getOnlinePolicyByName(name: string): Promise<OnlinePolicy | null>;
  listOnlinePolicies(): Promise<OnlinePolicy[]>;
  /** Renames and / or replaces the spec; updatedAt = now. Null if unknown; CONFLICT if the new name is taken. */
  updateOnlinePolicy(id: string, patch: OnlinePolicyPatch): Promise<OnlinePolicy | null>;
  /** False if unknown; IN_USE (naming the groups) while a protection group uses it. */
  deleteOnlinePolicy(id: string): Promise<boolean>;
}

export interface ProtectionGroupOps {
  /**
   * The short-term numbers must be positive integers (their allowed ranges are
   * retention/policy.ts's to check); state defaults to 'active'. CONFLICT if
   * the name is taken, INVALID_REFERENCE if the online policy is unknown.
   */
  createProtectionGroup(input: NewProtectionGroup): Promise<ProtectionGroup>;
  getProtectionGroup(id: string): Promise<ProtectionGroup | null>;
  getProtectionGroupByName(name: string): Promise<ProtectionGroup | null>;
  listProtectionGroups(): Promise<ProtectionGroup[]>;
  /** Partial update, updatedAt = now; null if unknown. Errors as in createProtectionGroup. */
  updateProtectionGroup(id: string, patch: ProtectionGroupPatch): Promise<ProtectionGroup | null>;
  /** False if unknown. Atomically sets its members' groupId to null first: the data sources stay. */
  deleteProtectionGroup(id: string): Promise<boolean>;
  /**
   * Puts a data source into a group (groupId) or takes it out (null), in one
   * conditional statement: of concurrent calls for one free source, one wins.
   * The same group again is a no-op. Returns the updated source, or null if
   * the source is unknown; CONFLICT (naming the group) if it is in another
   * group; INVALID_REFERENCE if the group is unknown.
   */
  setDataSourceGroup(dataSourceId: string, groupId: string | null): Promise<DataSourceRecord | null>;
  /** The group's data sources, oldest first (empty for an unknown group). */
  listGroupMembers(groupId: string): Promise<DataSourceRecord[]>;
}

export interface AlertOps {
  /**
   * Raises an alert once: while an alert with this key is active it is
   * returned as it is (created: false), otherwise a new active alert is
   * stored (created: true). Atomic on both engines: of any number of
   * concurrent raises of one key exactly one creates (a partial unique index
   * on the active key); safe inside a PostgreSQL transaction (no failed
   * statement). raisedAt = now; details default to null.
   */
  raiseAlert(input: NewAlert): Promise<{ alert: Alert; created: boolean }>;
  /** Resolves the active alert of this key (resolvedAt = now) and returns it; null when none was active. */
  resolveAlert(key: string): Promise<Alert | null>;
  /** Newest first (raisedAt); all states unless filtered. */
  listAlerts(filter?: AlertFilter): Promise<Alert[]>;
  getAlert(id: string): Promise<Alert | null>;
}

export interface NotificationChannelOps {
  /** config must be a JSON object; enabled defaults to true. CONFLICT if the name is taken. */
  createNotificationChannel(input: NewNotificationChannel): Promise<NotificationChannel>;
  listNotificationChannels(): Promise<NotificationChannel[]>;
  getNotificationChannel(id: string): Promise<NotificationChannel | null>;
  /** Partial update; null if unknown; CONFLICT if the new name is taken. */
  updateNotificationChannel(id: string, patch: NotificationChannelPatch): Promise<NotificationChannel | null>;
  /** False if unknown. */
  deleteNotificationChannel(id: string): Promise<boolean>;
}

/** All data operations; the same inside and outside a transaction. */
export interface CatalogOps
  extends AgentOps,
    EnrollmentTokenOps,
    DataSourceOps,
    RecoveryPointOps,
    JobOps,
    VaultOps,
    VaultPointOps,
    OnlinePolicyOps,
    ProtectionGroupOps,
    AlertOps,
    NotificationChannelOps {}

export interface Catalog extends CatalogOps {
  readonly engine: Engine;
  /**
   * Runs fn in one transaction: committed if fn resolves, rolled back if it
   * throws (the error is rethrown). On SQLite, transactions and all other
   * catalog calls run one at a time on a queue; on PostgreSQL it is a real
   * transaction (READ COMMITTED) on its own pooled connection.
   *
   * `tx` is a Catalog bound to the transaction and valid until fn settles;
   * tx.transaction() nests (a savepoint: its failure rolls back only its own
   * work), tx.close() is refused. Inside fn use only `tx`: calling the outer
   * catalog throws CATALOG_MISUSE on both engines (on SQLite it would
   * deadlock, on PostgreSQL it would run outside the transaction).
   * On PostgreSQL a failed statement aborts the whole transaction: to go on
   * after an expected error (e.g. CONFLICT), wrap that step in tx.transaction().
   */
  transaction<T>(fn: (tx: Catalog) => Promise<T>): Promise<T>;
  /** Waits for work already submitted, then closes the database. Later calls throw CATALOG_CLOSED. */
  close(): Promise<void>;
}
