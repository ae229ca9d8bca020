/** One pino logger for the server; level from STRATA_LOG_LEVEL (default info). Logs go to stderr. */
import { pino } from 'pino';

export const log = pino({ level: process.env.STRATA_LOG_LEVEL ?? 'info', base: { svc: 'strata-server' } }, pino.destination(2));
export type Logger = typeof log;
