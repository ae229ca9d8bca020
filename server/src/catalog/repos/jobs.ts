/** Jobs: every backup, restore, prune, gc and verify run, with progress and outcome. */
import { randomUUID } from 'node:crypto';
import { And, In, LessThan, MoreThanOrEqual, type EntityManager, type FindOptionsWhere } from 'typeorm';
import type { JobOps } from '../catalog.js';
import type { RepoContext } from '../context.js';
import { CatalogError } from '../errors.js';
import {
  ACTIVE_JOB_STATES,
  FINAL_JOB_STATES,
  JOB_STATES,
  JOB_TYPES,
  MAX_JOB_WARNINGS,
  MAX_WARNING_LENGTH,
  type Job,
  type JobCounters,
  type JobFilter,
} from '../types.js';
import type { JobRow } from '../schema/entities.js';
import { affected, definedOnly, validId } from './util.js';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

const COUNTERS: readonly (keyof JobCounters)[] = [
  'bytesScanned',
  'bytesSent',
  'bytesStored',
  'filesScanned',
  'filesChanged',
  'filesTotal',
  'bytesTotal',
];

/** The job columns an UPDATE may set. */
type JobPatch = { [K in keyof Job]?: unknown };

function pickCounters(src: Partial<JobCounters>): JobPatch {
  const out: JobPatch = {};
  for (const k of COUNTERS) if (src[k] !== undefined) out[k] = src[k];
  return out;
}

/** Appends messages to a job's warnings, keeping the first MAX_JOB_WARNINGS, counting all. */
export function appendWarnings(job: Pick<Job, 'warnings' | 'warningCount'>, messages: readonly string[]) {
  const warnings = [...job.warnings];
  for (const msg of messages) {
    if (warnings.length >= MAX_JOB_WARNINGS) break;
    const s = String(msg);
    warnings.push(s.length > MAX_WARNING_LENGTH ? `${s.slice(0, MAX_WARNING_LENGTH - 1)}…` : s);
  }
  return { warnings, warningCount: job.warningCount + messages.length };
}

function oneOrMany<T>(v: T | T[] | undefined, allowed: readonly T[], field: string) {
  if (v === undefined) return undefined;
  const list = Array.isArray(v) ? v : [v];
  for (const x of list) {
    if (!allowed.includes(x)) throw new CatalogError('INVALID_REQUEST', `list jobs: unknown ${field} '${String(x)}'`);
  }
  return In(list);
}

const isFinal = (state: string) => (FINAL_JOB_STATES as readonly string[]).includes(state);

export function jobOps(ctx: RepoContext): JobOps {
  const E = ctx.entities.job;
  const where = (w: Record<string, unknown>) => w as FindOptionsWhere<JobRow>;
  const asJob = (row: JobRow | null) => row as Job | null;
  const asJobs = (rows: JobRow[]) => rows as Job[];
  const update = (m: EntityManager, w: Record<string, unknown>, patch: JobPatch) =>
    m.update(E, where(w), patch as never);

  /** Reads a job for a read-modify-write step, locking its row on PostgreSQL. */
  const readForUpdate = (m: EntityManager, id: string) =>
    m.findOne(E, {
      where: { id },
      ...(ctx.engine === 'postgres' ? { lock: { mode: 'pessimistic_write' as const } } : {}),
    });

  return {
    createJob: async (input) => {
      if (!JOB_TYPES.includes(input.type)) {
        throw new CatalogError('INVALID_REQUEST', `create job: unknown type '${String(input.type)}'`);
      }
      const state = input.state ?? 'queued';
      if (state !== 'queued' && state !== 'running') {
        throw new CatalogError('INVALID_REQUEST', `create job: a new job cannot be '${String(state)}'`);
      }
      return ctx.run(`create ${input.type} job`, async (m) => {
        const now = ctx.clock.now();
        const job: Job = {
          id: randomUUID(),
          type: input.type,
          state,
          agentId: input.agentId ?? null,
          dataSourceId: input.dataSourceId ?? null,
          pointId: input.pointId ?? null,
          params: input.params ?? {},
          createdAt: now,
          startedAt: state === 'running' ? (input.startedAt ?? now) : null,
          finishedAt: null,
          bytesScanned: 0,
          bytesSent: 0,
          bytesStored: 0,
          filesScanned: 0,
          filesChanged: 0,
          filesTotal: 0,
          bytesTotal: null,
          errorMessage: null,
          warnings: [],
          warningCount: 0,
          result: null,
        };
        await m.insert(E, job as never);
        return job;
      });
    },

    getJob: async (id) => (validId(id) ? ctx.run(`get job ${id}`, async (m) => asJob(await m.findOneBy(E, { id }))) : null),

    listJobs: async (filter: JobFilter = {}) => {
      const w: Record<string, unknown> = {};
      const type = oneOrMany(filter.type, JOB_TYPES, 'type');
      const state = oneOrMany(filter.state, JOB_STATES, 'state');
      if (type) w.type = type;
      if (state) w.state = state;
      if (filter.agentId !== undefined) w.agentId = filter.agentId;
      if (filter.dataSourceId !== undefined) w.dataSourceId = filter.dataSourceId;
      if (filter.since && filter.before) w.createdAt = And(MoreThanOrEqual(filter.since), LessThan(filter.before));
      else if (filter.since) w.createdAt = MoreThanOrEqual(filter.since);
      else if (filter.before) w.createdAt = LessThan(filter.before);
      const take = Math.min(Math.max(Math.trunc(filter.limit ?? DEFAULT_LIMIT) || DEFAULT_LIMIT, 1), MAX_LIMIT);
      const skip = Math.max(Math.trunc(filter.offset ?? 0) || 0, 0);
      return ctx.run('list jobs', async (m) =>
        asJobs(await m.find(E, { where: where(w), order: { createdAt: 'DESC', id: 'DESC' }, take, skip })),
      );
    },

    startJob: async (id) =>
      validId(id)
        ? ctx.run(`start job ${id}`, async (m) =>
            affected(await update(m, { id, state: 'queued' }, { state: 'running', startedAt: ctx.clock.now() })),
          )
        : false,

    updateJobProgress: async (id, progress) => {
      if (progress.state !== undefined && progress.state !== 'queued' && progress.state !== 'running') {
        throw new CatalogError('INVALID_REQUEST', `update job ${id}: use finishJob() to end a job`);
      }
      if (!validId(id)) return false;
      const patch: JobPatch = {
        ...pickCounters(progress),
        ...definedOnly({
          state: progress.state,
          startedAt: progress.startedAt,
          pointId: progress.pointId,
          agentId: progress.agentId,
          dataSourceId: progress.dataSourceId,
        }),
      };
      const active = { id, state: In([...ACTIVE_JOB_STATES]) };
      return ctx.run(`update job ${id}`, async (m) =>
        Object.keys(patch).length === 0 ? m.existsBy(E, where(active)) : affected(await update(m, active, patch)),
      );
    },

    addJobWarnings: async (id, messages) => {
      if (!validId(id)) return false;
      if (messages.length === 0) return ctx.run(`get job ${id}`, (m) => m.existsBy(E, { id }));
      return ctx.atomic(`add warnings to job ${id}`, async (m) => {
        const job = await readForUpdate(m, id);
        if (!job) return false;
        await update(m, { id }, appendWarnings(job, messages));
        return true;
      });
    },

    finishJob: async (id, state, outcome = {}) => {
      if (!isFinal(state)) {
        throw new CatalogError('INVALID_REQUEST', `finish job ${id}: '${String(state)}' is not a final state`);
      }
      const job = !validId(id)
        ? null
        : await ctx.atomic(`finish job ${id}`, async (m) => {
            const cur = await readForUpdate(m, id);
            if (!cur) return null;
            if (isFinal(cur.state)) {
              throw new CatalogError('JOB_FINISHED', `finish job ${id}: it already ended as '${cur.state}'`);
            }
            const now = ctx.clock.now();
            const patch: JobPatch = {
              ...pickCounters(outcome),
              ...definedOnly({ errorMessage: outcome.errorMessage, result: outcome.result, pointId: outcome.pointId }),
              ...(outcome.warnings?.length ? appendWarnings(cur, outcome.warnings) : {}),
              state,
              finishedAt: now,
              startedAt: cur.startedAt ?? now,
            };
            await update(m, { id }, patch);
            return { ...cur, ...patch } as Job;
          });
      if (!job) throw new CatalogError('NOT_FOUND', `finish job ${id}: no such job`);
      return job;
    },

    findRunningJobs: () =>
      ctx.run('find running jobs', async (m) =>
        asJobs(await m.find(E, { where: { state: 'running' }, order: { createdAt: 'ASC', id: 'ASC' } })),
      ),

    failInterruptedJobs: (message) =>
      ctx.atomic('fail interrupted jobs', async (m) => {
        const jobs = await m.find(E, { where: where({ state: In([...ACTIVE_JOB_STATES]) }) });
        const now = ctx.clock.now();
        for (const j of jobs) {
          await update(m, { id: j.id }, { state: 'failed', finishedAt: now, startedAt: j.startedAt ?? now, errorMessage: message });
        }
        return jobs.length;
      }),
  };
}
