/**
 * Retention: pure policy logic for protection groups, no I/O and no clock
 * (callers pass `now`), so the scheduler, the prune job, the REST API and
 * `strata retention simulate` all give the same answer.
 *
 * - policy.ts    the short-term and online policies, parsed and range-checked
 *                (refusals are StrataError invalid(...) naming the allowed values)
 * - schedule.ts  when syncs and online backups are due, in a time zone, DST-correct
 * - evaluate.ts  points + policy + now -> keep or prune, with the reasons
 * - civil.ts     wall-clock calendar arithmetic in a zone (used by the two above)
 *
 * Promises: the same inputs give the same decisions; one decision per point,
 * in input order; a policy change needs no migration of points (retention is
 * recomputed from the current policy, which is what makes changes retroactive).
 */
export * from './policy.js';
export * from './schedule.js';
export * from './evaluate.js';
