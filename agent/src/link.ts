/**
 * The agent's WebSocket to the server, frame level: TLS with the server's
 * certificate pinned by fingerprint (from the enrollment token), binary
 * protobuf frames validated on the way in, and send backpressure.
 */
import { WebSocket } from 'ws';
import { decodeFrame, encodeFrame, FrameBufferPool, ProtocolError, SERVER_SENDS, type Frame } from '@strata/protocol';

/** Bytes queued in the socket before send() waits: enough to keep loopback/LAN busy, small enough for the memory budget. */
const HIGH_WATER = 4 * 1024 * 1024;

export class PinMismatchError extends Error {}

export class Link {
  private handlers = new Set<(f: Frame) => void>();
  private closeHandlers = new Set<(why: string) => void>();
  private waiting: Array<() => void> = [];
  closedReason: string | null = null;
  /** Chunk batch frames (~1 MiB, see uplink.ts) are encoded into these; HIGH_WATER bounds how many are out. */
  private readonly frames = new FrameBufferPool(1280 * 1024, 6);

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      try {
        if (!isBinary) throw new Error('text frame from server');
        const frame = decodeFrame(data as Buffer, SERVER_SENDS);
        for (const h of this.handlers) h(frame);
      } catch (e) {
        const msg = e instanceof ProtocolError ? e.message : `bad frame from server: ${(e as Error).message}`;
        this.close(msg);
      }
    });
    ws.on('close', (code, reason) => this.closed(`connection closed (${code}${reason.length ? ': ' + reason.toString() : ''})`));
    ws.on('error', (e) => this.closed(e.message));
  }

  static connect(url: string, fingerprint: string | null): Promise<Link> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, {
        rejectUnauthorized: false, // trust comes from the pinned fingerprint below, checked before anything is sent
        perMessageDeflate: false,
        maxPayload: 64 * 1024 * 1024,
        // Masking protects browser intermediaries, not a TLS agent; skipping it saves a copy (STACK.md).
        generateMask: (mask: Buffer) => mask.fill(0),
        handshakeTimeout: 15_000,
      } as never);
      let settled = false;
      ws.on('upgrade', (res) => {
        if (!url.startsWith('wss:')) return;
        const cert = (res.socket as unknown as { getPeerCertificate?: () => { fingerprint256?: string } }).getPeerCertificate?.();
        const fp = cert?.fingerprint256?.replace(/:/g, '').toLowerCase();
        if (!fingerprint || fp !== fingerprint) {
          settled = true;
          ws.terminate();
          reject(new PinMismatchError(`server certificate ${fp ?? '(none)'} does not match the pinned fingerprint ${fingerprint ?? '(none)'}: refusing to talk to this server`));
        }
      });
      ws.once('open', () => {
        if (settled) return;
        settled = true;
        resolve(new Link(ws));
      });
      ws.once('error', (e) => {
        if (!settled) { settled = true; reject(e); }
      });
    });
  }

  onFrame(h: (f: Frame) => void) { this.handlers.add(h); return () => this.handlers.delete(h); }
  onClose(h: (why: string) => void) { this.closeHandlers.add(h); }

  /** Sends a frame; resolves once the socket's buffer is below the high-water mark. */
  async send(frame: Frame): Promise<void> {
    if (this.closedReason) throw new Error(this.closedReason);
    let release = (): void => {};
    const data = encodeFrame(frame, (n) => {
      const t = this.frames.take(n);
      release = t.release;
      return t.buf;
    });
    // The buffer goes back once the socket has taken the bytes (or failed to).
    this.ws.send(data, { binary: true }, () => release());
    while (this.ws.bufferedAmount > HIGH_WATER && !this.closedReason) {
      await new Promise<void>((r) => { this.waiting.push(r); setTimeout(r, 5); });
    }
  }

  /** Waits for the first frame that `match` accepts. */
  next<T extends Frame>(match: (f: Frame) => f is T, timeoutMs = 30_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const off = this.onFrame((f) => {
        if (f.kind === 'error') { cleanup(); reject(new ServerError(f.body.code, f.body.message)); return; }
        if (match(f)) { cleanup(); resolve(f); }
      });
      const onClose = (why: string) => { cleanup(); reject(new Error(why)); };
      this.closeHandlers.add(onClose);
      const t = setTimeout(() => { cleanup(); reject(new Error('timed out waiting for the server')); }, timeoutMs);
      const cleanup = () => { off(); this.closeHandlers.delete(onClose); clearTimeout(t); };
    });
  }

  close(reason = 'closing') {
    if (this.closedReason) return;
    this.ws.close(1000, reason.slice(0, 120));
    this.closed(reason);
  }

  private closed(why: string) {
    if (this.closedReason) return;
    this.closedReason = why;
    for (const w of this.waiting.splice(0)) w();
    for (const h of this.closeHandlers) h(why);
  }
}

export class ServerError extends Error {
  constructor(readonly code: number, message: string) { super(message); }
}
