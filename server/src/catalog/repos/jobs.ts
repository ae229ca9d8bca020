/** Jobs: every backup, restore, prune, gc and verify run, with progress and outcome. */
import { randomUUID } from 'node:crypto';
import { And, In, LessThan, MoreThanOrEqual, type EntityManager, type FindOptionsWhere } from 'typeorm';
import type { JobsRepo } from '../catalog.js';
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
import { definedOnly, validId } from './util.js';

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

function pickCounters(src: Partial<JobCounters>): Partial<JobCounters> {
  const out: Partial<JobCounters> = {};
  for (const k of COUNTERS) if (src[k] !== undefined) (out as Record<string, unknown>)[k] = src[k];
  return out;
}

/** Appends messages to a job's warnings, keeping the first MAX_JOB_WARNINGS. */
function withWarnings(job: Pick<Job, 'warnings' | 'warningCount'>, messages: readonly string[]) {
  const kept = [...job.warnings];
  for (const msg of messages) {
    if (kept.length >= MAX_JOB_WARNINGS) break;
    const s = String(msg);
    kept.push(s.length > MAX_WARNING_LENGTH ? `${s.slice(0, MAX_WARNING_LENGTH - 1)}…` : s);
  }
  return { warnings: kept, warningCount: job.warningCount + messages.length };
}

function oneOrMany<T>(v: T | T[] | undefined, allowed: readonly T[], field: string) {
  if (v === undefined) return undefined;
  const list = Array.isArray(v) ? v : [v];
  for (const x of list) {
    if (!allowed.includes(x)) throw new CatalogError('catalog.invalid', `list jobs: unknown ${field} '${String(x)}'`);
  }
  return In(list);
}

export function jobsRepo(ctx: RepoContext): JobsRepo {
  const E = ctx.entities.job;

  /** Reads a job for a read-modify-write step, locking its row on PostgreSQL. */
  const readForUpdate = (m: EntityManager, id: string) =>
    m.findOne(E, { where: { id }, ...(ctx.engine === 'postgres' ? { lock: { mode: 'pessimistic_write' as const } } : {}) });

  return {
    create: (input) => {
      if (!JOB_TYPES.includes(input.type)) {
        return Promise.reject(new CatalogError('catalog.invalid', `create job: unknown type '${String(input.type)}'`));
      }
      const state = input.state ?? 'queued';
      if (state !== 'queued' && state !== 'running') {
        return Promise.reject(new CatalogError('catalog.invalid', `create job: a new job cannot be '${String(state)}'`));
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
          startedAt: state === 'running' ? now : null,
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
        await m.insert(E, job);
        return job;
      });
    },

    get: (id) => (validId(id) ? ctx.run(`get job ${id}`, (m) => m.findOneBy(E, { id })) : Promise.resolve(null)),

    list: async (filter: JobFilter = {}) => {
      const where: FindOptionsWhere<Job> = {};
      const type = oneOrMany(filter.type, JOB_TYPES, 'type');
      const state = oneOrMany(filter.state, JOB_STATES, 'state');
      if (type) where.type = type;
      if (state) where.state = state;
      if (filter.agentId !== undefined) where.agentId = filter.agentId;
      if (filter.dataSourceId !== undefined) where.dataSourceId = filter.dataSourceId;
      if (filter.since && filter.before) where.createdAt = And(MoreThanOrEqual(filter.since), LessThan(filter.before));
      else if (filter.since) where.createdAt = MoreThanOrEqual(filter.since);
      else if (filter.before) where.createdAt = LessThan(filter.before);
      const take = Math.min(Math.max(Math.trunc(filter.limit ?? DEFAULT_LIMIT), 1), MAX_LIMIT);
      const skip = Math.max(Math.trunc(filter.offset ?? 0), 0);
      return ctx.run('list jobs', (m) => m.find(E, { where, order: { createdAt: 'DESC', id: 'DESC' }, take, skip }));
    },

    start: (id) =>
      validId(id)
        ? ctx.run(`start job ${id}`, async (m) => {
            const r = await m.update(E, { id, state: 'queued' }, { state: 'running', startedAt: ctx.clock.now() });
            return (r.affected ?? 0) > 0;
          })
        : Promise.resolve(false),

    update: async (id, progress) => {
      if (progress.state !== undefined && progress.state !== 'queued' && progress.state !== 'running') {
        throw new CatalogError('catalog.invalid', `update job ${id}: use finish() to end a job`);
      }
      if (!validId(id)) return false;
      const patch: Partial<Job> = {
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
      return ctx.run(`update job ${id}`, async (m) => {
        if (Object.keys(patch).length === 0) return m.existsBy(E, active);
        return ((await m.update(E, active, patch)).affected ?? 0) > 0;
      });
    },

    addWarnings: async (id, messages) => {
      if (!validId(id)) return false;
      if (messages.length === 0) return ctx.run(`get job ${id}`, (m) => m.existsBy(E, { id }));
      return ctx.atomic(`add warnings to job ${id}`, async (m) => {
        const job = await readForUpdate(m, id);
        if (!job) return false;
        await m.update(E, { id }, withWarnings(job, messages));
        return true;
      });
    },

    finish: async (id, state, outcome = {}) => {
      if (!FINAL_JOB_STATES.includes(state)) {
        throw new CatalogError('catalog.invalid', `finish job ${id}: '${String(state)}' is not a final state`);
      }
      const job = validId(id)
        ? await ctx.atomic(`finish job ${id}`, async (m) => {
            const cur = await readForUpdate(m, id);
            if (!cur) return null;
            if ((FINAL_JOB_STATES as readonly string[]).includes(cur.state)) {
              throw new CatalogError('catalog.job_finished', `finish job ${id}: it already ended as '${cur.state}'`);
            }
            const now = ctx.clock.now();
            const patch: Partial<Job> = {
              ...pickCounters(outcome),
              ...definedOnly({ errorMessage: outcome.errorMessage, result: outcome.result, pointId: outcome.pointId }),
              ...(outcome.warnings?.length ? withWarnings(cur, outcome.warnings) : {}),
              state,
              finishedAt: now,
              startedAt: cur.startedAt ?? now,
            };
            await m.update(E, { id }, patch);
            return { ...cur, ...patch };
          })
        : null;
      if (!job) throw new CatalogError('catalog.not_found', `finish job ${id}: no such job`);
      return job;
    },
  };
}

export function findRunningJobs(ctx: RepoContext): Promise<Job[]> {
  return ctx.run('find running jobs', (m) =>
    m.find(ctx.entities.job, { where: { state: 'running' }, order: { createdAt: 'ASC', id: 'ASC' } }),
  );
}
