import type { ChunkStore } from '../chunk-store/index.js';
import type { Catalog } from '../catalog/index.js';
import type { AgentGateway } from '../gateway/gateway.js';
import type { JobService } from '../jobs/job-service.js';

/** What route handlers may use; they never touch fs or SQL directly. */
export interface ApiContext {
  catalog: Catalog;
  store: ChunkStore;
  gateway: AgentGateway;
  jobs: JobService;
  adminToken: string;
  tlsFingerprint: string | null;
}

export const body = (c: { request: unknown }) => ((c.request as { body?: Record<string, unknown> }).body ?? {}) as Record<string, unknown>;
