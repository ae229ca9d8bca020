/**
 * Typed errors of the server and its CLI. Each has a stable code, a message
 * written for the admin that names the object, an HTTP status for the REST API
 * and an exit code for the CLI. `kind` sorts them for the retry layer: only
 * 'transient' errors are worth retrying.
 */
export type ErrorKind = 'not-found' | 'permanent' | 'transient' | 'invalid' | 'auth';

const STATUS: Record<ErrorKind, number> = { 'not-found': 404, permanent: 500, transient: 503, invalid: 400, auth: 401 };
const EXIT: Record<ErrorKind, number> = { 'not-found': 4, permanent: 1, transient: 5, invalid: 2, auth: 3 };

export class StrataError extends Error {
  readonly httpStatus: number;
  readonly exitCode: number;
  constructor(readonly code: string, message: string, readonly kind: ErrorKind = 'permanent') {
    super(message);
    this.name = 'StrataError';
    this.httpStatus = STATUS[kind];
    this.exitCode = EXIT[kind];
  }
}

export const notFound = (what: string, id: string) => new StrataError('NOT_FOUND', `${what} '${id}' not found`, 'not-found');
export const invalid = (message: string) => new StrataError('INVALID_REQUEST', message, 'invalid');
export const conflict = (message: string) => Object.assign(new StrataError('CONFLICT', message, 'invalid'), { httpStatus: 409 });
export const unauthorized = (message: string) => new StrataError('UNAUTHORIZED', message, 'auth');
export const agentOffline = (name: string) =>
  new StrataError('AGENT_OFFLINE', `agent '${name}' is offline: start 'strata-agent run' on it`, 'transient');
