/** The agent's logger (pino to stderr); level from STRATA_LOG_LEVEL. */
import { pino } from 'pino';

export const log = pino({ level: process.env.STRATA_LOG_LEVEL ?? 'info', base: { svc: 'strata-agent' } }, pino.destination(2));
export type Logger = typeof log;
