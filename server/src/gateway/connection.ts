/**
 * One agent's WebSocket, frame level: decodes and validates every incoming
 * frame, processes them strictly in order (one at a time, so a slow chunk write
 * holds the next frame back), applies backpressure by pausing the socket when
 * too much is queued, and turns any protocol violation into an Error frame, a
 * logged reason and a closed connection — without touching other agents.
 */
import type { WebSocket } from 'ws';
import {
  AGENT_SENDS, decodeFrame, encodeFrame, ErrorCode, FrameBufferPool, MAX_FRAME_BYTES, ProtocolError, type Frame,
} from '@strata/protocol';
import { StrataError } from '../errors.js';
import type { Logger } from '../log.js';

const MAX_QUEUED_FRAMES = 16;
/**
 * Frames answered on a lane of their own, so they never wait behind chunk
 * batches being written: a "which chunks do you lack?" reply does not depend
 * on uploads in flight (those chunks are not in the agent's recovery points
 * yet), and an agent that waits for it would otherwise stall. Everything else,
 * BackupCommit above all, stays strictly in order behind the batches.
 */
const FAST_LANE: ReadonlySet<Frame['kind']> = new Set<Frame['kind']>(['chunkQuery', 'ping', 'progress']);
/**
 * Restore chunk requests are independent (each reply names its batch), so up to
 * READ_LANE_LIMIT are served at once: the disk and the hash checks of one
 * overlap the sending of another.
 */
const READ_LANE: ReadonlySet<Frame['kind']> = new Set<Frame['kind']>(['chunkRequest']);
const READ_LANE_LIMIT = 4;

interface Lane { frames: Frame[]; active: number; limit: number }

export type FrameHandler = (frame: Frame) => Promise<void> | void;

export class AgentConnection {
  private main: Lane = { frames: [], active: 0, limit: 1 };
  private fast: Lane = { frames: [], active: 0, limit: 1 };
  private reads: Lane = { frames: [], active: 0, limit: READ_LANE_LIMIT };
  private closed = false;
  private handler: FrameHandler = () => {};
  /** Restore replies (~1 MiB chunk batches) are encoded into these, and reused once written. */
  private readonly frames = new FrameBufferPool(1280 * 1024, 6);
  readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  constructor(readonly ws: WebSocket, readonly log: Logger, readonly remote: string) {
    this.closedPromise = new Promise((r) => (this.resolveClosed = r));
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer | Buffer[], isBinary));
    ws.on('close', (code, reason) => {
      this.closed = true;
      this.log.info({ code, reason: reason.toString() }, 'agent connection closed');
      this.resolveClosed();
    });
    ws.on('error', (err) => this.log.warn({ err: err.message }, 'agent connection error'));
  }

  get isOpen() { return !this.closed && this.ws.readyState === this.ws.OPEN; }

  onFrame(handler: FrameHandler) { this.handler = handler; }

  send(frame: Frame): Promise<void> {
    // A send that cannot reach the agent says so, whatever the socket's own words (EPIPE, ECONNRESET):
    // the job it belonged to failed because the agent went away, and a retry may succeed.
    if (!this.isOpen) return Promise.reject(new StrataError('AGENT_DISCONNECTED', 'agent disconnected (connection closed)', 'transient'));
    let release = (): void => {};
    const data = encodeFrame(frame, (n) => {
      const t = this.frames.take(n);
      release = t.release;
      return t.buf;
    });
    return new Promise((resolve, reject) => this.ws.send(data, { binary: true }, (err) => {
      release();
      if (err) reject(new StrataError('AGENT_DISCONNECTED', `agent disconnected (${err.message})`, 'transient')); else resolve();
    }));
  }

  /** Sends an Error frame, logs why, and closes. Safe to call twice. */
  fail(code: ErrorCode, message: string, jobId = '') {
    if (this.closed) return;
    this.closed = true;
    for (const l of [this.main, this.fast, this.reads]) l.frames = [];
    this.log.warn({ code: ErrorCode[code], reason: message }, 'closing agent connection');
    try {
      this.ws.send(encodeFrame({ kind: 'error', body: { code, message, jobId } }), { binary: true }, () => {
        this.ws.close(code === ErrorCode.Internal ? 1011 : 1008, message.slice(0, 120));
      });
    } catch {
      this.ws.terminate();
    }
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }

  private onMessage(data: Buffer | Buffer[], isBinary: boolean) {
    if (this.closed) return;
    const buf = Array.isArray(data) ? Buffer.concat(data) : data;
    if (!isBinary) return this.fail(ErrorCode.MalformedFrame, 'text frames are not part of the protocol: send binary frames');
    if (buf.length > MAX_FRAME_BYTES) {
      return this.fail(ErrorCode.FrameTooLarge, `frame of ${buf.length} bytes exceeds the ${MAX_FRAME_BYTES}-byte limit`);
    }
    let frame: Frame;
    try {
      frame = decodeFrame(buf, AGENT_SENDS);
    } catch (e) {
      if (e instanceof ProtocolError) return this.fail(e.code, e.message);
      return this.fail(ErrorCode.MalformedFrame, `malformed frame: ${(e as Error).message}`);
    }
    const lane = FAST_LANE.has(frame.kind) ? this.fast : READ_LANE.has(frame.kind) ? this.reads : this.main;
    lane.frames.push(frame);
    if (lane.frames.length >= MAX_QUEUED_FRAMES && !this.ws.isPaused) this.ws.pause();
    void this.pump(lane);
  }

  /** Handles a lane's frames in arrival order, at most `limit` at a time (1: strictly one after another). */
  private async pump(lane: Lane) {
    if (lane.active >= lane.limit) return;
    lane.active++;
    try {
      while (lane.frames.length && !this.closed) {
        const frame = lane.frames.shift()!;
        this.maybeResume();
        if (lane.frames.length && lane.active < lane.limit) void this.pump(lane);
        await this.handle(frame);
      }
    } finally {
      lane.active--;
      this.maybeResume();
    }
  }

  private maybeResume() {
    const low = MAX_QUEUED_FRAMES / 2;
    if (this.ws.isPaused && !this.closed && [this.main, this.fast, this.reads].every((l) => l.frames.length < low)) this.ws.resume();
  }

  private async handle(frame: Frame) {
    try {
      await this.handler(frame);
    } catch (e) {
      if (e instanceof ProtocolError) this.fail(e.code, e.message);
      else {
        this.log.error({ err: e }, 'error while handling an agent frame');
        this.fail(ErrorCode.Internal, `server error: ${(e as Error).message}`);
      }
    }
  }
}
