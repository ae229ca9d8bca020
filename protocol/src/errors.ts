import { ErrorCode } from './messages.js';

/** A frame that must not be processed; the connection is answered with an Error frame and closed. */
export class ProtocolError extends Error {
  constructor(public readonly code: ErrorCode, message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}
