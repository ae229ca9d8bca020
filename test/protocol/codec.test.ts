import { describe, expect, it } from 'vitest';
import {
  AGENT_SENDS, decodeFrame, decodeTree, encodeFrame, encodeTree, EntryType, ErrorCode, MAX_FRAME_BYTES,
  negotiateVersion, ProtocolError, PROTOCOL_VERSION, SERVER_SENDS, type Frame,
} from '@strata/protocol';

const hash = (b: number) => Buffer.alloc(32, b);
const expectProtocolError = (fn: () => unknown, code: ErrorCode, text: RegExp) => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    expect((e as ProtocolError).code).toBe(code);
    expect((e as Error).message).toMatch(text);
    return;
  }
  throw new Error('expected a ProtocolError');
};

describe('frame codec', () => {
  it('round-trips a chunk batch with bytes as views, not copies', () => {
    const frame: Frame = { kind: 'chunkBatch', body: { jobId: 'job-1', batchId: 7, chunks: [{ hash: hash(1), compression: 1, rawSize: 3, data: Buffer.from('abc') }] } };
    const bytes = encodeFrame(frame);
    const back = decodeFrame(bytes, AGENT_SENDS);
    expect(back.kind).toBe('chunkBatch');
    if (back.kind !== 'chunkBatch') return;
    expect(back.body.batchId).toBe(7);
    expect(Buffer.from(back.body.chunks[0]!.data).toString()).toBe('abc');
    expect(back.body.chunks[0]!.data.buffer).toBe(bytes.buffer);
  });

  it('keeps 64-bit sizes above 2^32 exact', () => {
    const f = decodeFrame(encodeFrame({ kind: 'backupCommit', body: { jobId: 'j', root: [hash(2)], files: 1, dirs: 1, bytes: 5 * 2 ** 40, warnings: [] } }));
    expect(f.kind === 'backupCommit' && f.body.bytes).toBe(5 * 2 ** 40);
  });

  it('refuses garbage and truncated frames as malformed', () => {
    expectProtocolError(() => decodeFrame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])), ErrorCode.MalformedFrame, /malformed/);
    const good = encodeFrame({ kind: 'chunkQuery', body: { jobId: 'j', queryId: 1, hashes: [hash(3), hash(4)] } });
    expectProtocolError(() => decodeFrame(good.subarray(0, good.length - 5)), ErrorCode.MalformedFrame, /malformed/);
  });

  it('refuses an empty frame (no body)', () => {
    expectProtocolError(() => decodeFrame(new Uint8Array(0)), ErrorCode.MalformedFrame, /no message body/);
  });

  it('refuses oversized frames', () => {
    expectProtocolError(() => decodeFrame(new Uint8Array(MAX_FRAME_BYTES + 1)), ErrorCode.FrameTooLarge, /exceeds/);
  });

  it('names the bad field: short hash, empty job id, unknown enum, too many items', () => {
    expectProtocolError(() => decodeFrame(encodeFrame({ kind: 'chunkQuery', body: { jobId: 'j', queryId: 1, hashes: [Buffer.alloc(31)] } })), ErrorCode.MalformedFrame, /chunkQuery\.hashes\[0\] has 31 bytes/);
    expectProtocolError(() => decodeFrame(encodeFrame({ kind: 'chunkBatchAck', body: { jobId: '', batchId: 1 } })), ErrorCode.MalformedFrame, /jobId is empty/);
    expectProtocolError(() => decodeFrame(encodeFrame({ kind: 'chunkBatch', body: { jobId: 'j', batchId: 1, chunks: [{ hash: hash(1), compression: 9 as never, rawSize: 1, data: Buffer.from('x') }] } })), ErrorCode.MalformedFrame, /compression has unknown value 9/);
    const many = Array.from({ length: 4097 }, () => hash(5));
    expectProtocolError(() => decodeFrame(encodeFrame({ kind: 'chunkRequest', body: { jobId: 'j', batchId: 1, hashes: many } })), ErrorCode.MalformedFrame, /4097 items/);
    expectProtocolError(() => decodeFrame(encodeFrame({ kind: 'progress', body: { jobId: 'j/../x', bytesScanned: 0, bytesSent: 0, filesScanned: 0, filesChanged: 0, bytesTotal: 0, filesTotal: 0, currentPath: '' } })), ErrorCode.MalformedFrame, /not allowed in an id/);
  });

  it('refuses frames the peer may not send', () => {
    const done = encodeFrame({ kind: 'backupDone', body: { jobId: 'j', pointId: 'p' } });
    expectProtocolError(() => decodeFrame(done, AGENT_SENDS), ErrorCode.OutOfOrder, /not sent by this peer/);
    expect(decodeFrame(done, SERVER_SENDS).kind).toBe('backupDone');
    const hello = encodeFrame({ kind: 'hello', body: { minVersion: 1, maxVersion: 1, agentId: 'a', signature: Buffer.alloc(64), agentVersion: '', hostname: '' } });
    expectProtocolError(() => decodeFrame(hello, SERVER_SENDS), ErrorCode.OutOfOrder, /hello/);
  });
});

describe('version negotiation', () => {
  it('picks the highest common version', () => {
    expect(negotiateVersion(1, 99)).toBe(PROTOCOL_VERSION);
  });
  it('refuses disjoint ranges naming both', () => {
    expectProtocolError(() => negotiateVersion(PROTOCOL_VERSION + 1, PROTOCOL_VERSION + 5), ErrorCode.VersionMismatch, new RegExp(`peer speaks ${PROTOCOL_VERSION + 1}\\.\\.${PROTOCOL_VERSION + 5}`));
  });
});

describe('tree format', () => {
  it('round-trips raw names, nanosecond times and large sizes', () => {
    const entries = [{
      name: Buffer.from([0x66, 0xff, 0x0a, 0x20]), type: EntryType.File, mode: 0o4755, uid: 1000, gid: 1000,
      mtimeSec: 1_700_000_000, mtimeNsec: 999_999_999, ctimeSec: 1, ctimeNsec: 2, inode: 2 ** 40, size: 2 ** 45,
      linkTarget: Buffer.alloc(0), chunks: [hash(9)],
    }];
    const back = decodeTree(encodeTree({ entries }));
    expect(Buffer.from(back.entries[0]!.name)).toEqual(entries[0]!.name);
    expect(back.entries[0]!.mtimeNsec).toBe(999_999_999);
    expect(back.entries[0]!.size).toBe(2 ** 45);
    expect(back.entries[0]!.mode).toBe(0o4755);
  });
});

describe('generated schema source', () => {
  it('protocol/src/proto-source.ts matches strata.proto (run `npm run gen:proto`)', async () => {
    const fs = await import('node:fs');
    // @ts-expect-error plain .mjs script without types
    const gen = await import('../../scripts/gen-proto.mjs');
    expect(fs.readFileSync(gen.outPath, 'utf8')).toBe(gen.render(fs.readFileSync(gen.sourcePath, 'utf8')));
  });
});

describe('the fast ChunkBatch encoder', () => {
  it('writes what the generic decoder reads back exactly, for odd sizes and values', async () => {
    const { randomBytes } = await import('node:crypto');
    const chunks = [0, 1, 127, 128, 16383, 16384, 65536].map((n, i) => ({ hash: randomBytes(32), compression: i % 2, rawSize: n * 3 + 300, data: randomBytes(n) }));
    for (const batchId of [0, 1, 300, 2 ** 32 - 1]) {
      const f = decodeFrame(encodeFrame({ kind: 'chunkBatch', body: { jobId: 'job_7.x-1', batchId, chunks } }));
      expect(f.kind).toBe('chunkBatch');
      if (f.kind !== 'chunkBatch') return;
      expect(f.body.jobId).toBe('job_7.x-1');
      expect(f.body.batchId).toBe(batchId);
      expect(f.body.chunks.map((c) => [Buffer.from(c.hash).toString('hex'), c.compression, c.rawSize, Buffer.from(c.data).toString('hex')]))
        .toEqual(chunks.map((c) => [c.hash.toString('hex'), c.compression, c.rawSize, c.data.toString('hex')]));
    }
  });
});

describe('enrollment token format', () => {
  it('round-trips secret and fingerprint, and refuses anything else', async () => {
    const { formatEnrollmentToken, parseEnrollmentToken } = await import('@strata/protocol');
    const fp = 'ab'.repeat(32);
    expect(parseEnrollmentToken(formatEnrollmentToken('s'.repeat(32), fp))).toEqual({ secret: 's'.repeat(32), fingerprint: fp });
    expect(parseEnrollmentToken(formatEnrollmentToken('s'.repeat(32), null))).toEqual({ secret: 's'.repeat(32), fingerprint: null });
    for (const bad of ['', 'stk1.short.-', `stk2.${'s'.repeat(32)}.-`, `stk1.${'s'.repeat(32)}.${'AB'.repeat(32)}`]) expect(parseEnrollmentToken(bad)).toBeNull();
  });
});
