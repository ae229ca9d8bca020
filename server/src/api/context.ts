import type { ChunkStore } from '../chunk-store/index.js';
import type { Catalog } from '../catalog/index.js';
import type { AgentGateway } from '../gateway/gateway.js';
import type { JobService } from '../jobs/job-service.js';
import type { VaultService } from '../services/vault-service.js';

/** What route handlers may use; they never touch fs or SQL directly. */
export interface ApiContext {
  catalog: Catalog;
  store: ChunkStore;
  gateway: AgentGateway;
  jobs: JobService;
  adminToken: string;
  tlsFingerprint: string | null;
  /** The server's data dir: a local vault's folder defaults to <dataDir>/vault/<name>. */
  dataDir?: string;
  /** The server's configured IANA time zone: the default of an online policy's timeZone (else UTC). */
  timeZone?: string;
  /** Re-applies schedules and retention after a policy or group changes (the scheduler's ProtectionService). */
  protection?: { policyChanged(policyId: string): Promise<unknown>; groupChanged(groupId: string): Promise<unknown> };
  /** The server's one vault service (sharedVaultService); routes fall back to the shared one of this catalog and data dir. */
  vaults?: VaultService;
}

export const body = (c: { request: unknown }) => ((c.request as { body?: Record<string, unknown> }).body ?? {}) as Record<string, unknown>;
