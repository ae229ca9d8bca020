/**
 * The restore's end-to-end check, on the real binaries: the server serves a
 * restore's chunks checking only their records (crc, named hash, lengths;
 * docs/storage-format.md §5, 8b), the agent SHA-256s every chunk. A chunk whose
 * bytes were changed on the server's disk *and* whose record crc was fixed up
 * (damage the crc cannot see) must fail the restore with an error naming the
 * chunk and the file, and an earlier point without that chunk must still
 * restore exactly. Damage the crc does see fails on the server, naming the
 * chunk and its pack.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import tmp from 'tmp';
import { enrollAndRun, okJson, startAgentProc, startServerProc, strataCli, type Daemon, type ServerProc } from '../helpers/cli.js';
import { compareTrees } from '../helpers/tree.js';

const RECORD_HEADER = 48;
const RECORD_MAGIC = 0x4b4e4843;

interface Job { id: string; state: string; errorMessage: string | null }

let work: tmp.DirResult;
let server: ServerProc;
let agent: Daemon;
let agentDir = '';
let src = '';
let snap1 = '';
const points: string[] = [];
const cli = (args: string[]) => strataCli(args, server.env);

/** Changes one byte of the raw chunk `hash` in its pack; with `fixCrc` the record's crc is recomputed to match. */
function damageChunk(hash: Buffer, fixCrc: boolean): string {
  const packsDir = path.join(server.dataDir, 'chunks', 'packs');
  for (const sub of fs.readdirSync(packsDir)) {
    for (const f of fs.readdirSync(path.join(packsDir, sub)).filter((n) => n.endsWith('.pack'))) {
      const file = path.join(packsDir, sub, f);
      const b = fs.readFileSync(file);
      const at = b.indexOf(hash);
      if (at < 4 || b.readUInt32LE(at - 4) !== RECORD_MAGIC) continue;
      const rec = at - 4;
      expect(b[rec + 36], 'the victim chunk is stored raw').toBe(0);
      const len = b.readUInt32LE(rec + 44);
      b[rec + RECORD_HEADER + Math.floor(len / 2)] ^= 0x20;
      const end = rec + RECORD_HEADER + len;
      if (fixCrc) b.writeUInt32LE(crc32(b.subarray(rec, end)), end);
      fs.writeFileSync(file, b);
      return file;
    }
  }
  throw new Error(`chunk ${hash.toString('hex')} not found in any pack`);
}

/** Stops both daemons, runs `edit` on the store at rest, and starts them again (same address). */
async function withDaemonsStopped(edit: () => void): Promise<void> {
  await agent.stop();
  await server.stop();
  edit();
  server = await startServerProc(server.dataDir, { listen: new URL(server.url).host });
  agent = await startAgentProc(agentDir);
}

async function restoreJob(point: string, to: string, paths: string[] = []): Promise<Job> {
  const r = await strataCli(['restore', point, '--to', to, ...paths.flatMap((p) => ['--path', p]), '--wait', '--json'], server.env);
  let id: string | undefined;
  try {
    id = (JSON.parse(r.stdout) as { job?: Job }).job?.id; // a failed job may print no document
  } catch { /* below */ }
  if (id) return okJson<Job>(cli(['jobs', 'show', id, '--json']));
  const jobs = await okJson<Job[]>(cli(['jobs', 'list', '--type', 'restore', '--json']));
  return jobs[0]!;
}

// Random bytes do not compress: a file under 4 KiB is one raw chunk named by the SHA-256 of its content.
const victim = randomBytes(3000); // under the chunker's minSize (4 KiB): one chunk
const victimHash = createHash('sha256').update(victim).digest();
const other = randomBytes(3500);
const otherHash = createHash('sha256').update(other).digest();

beforeAll(async () => {
  work = tmp.dirSync({ unsafeCleanup: true, prefix: 'strata-restore-corrupt-' });
  src = path.join(work.name, 'src');
  fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(src, 'sub', `f${i}.bin`), randomBytes(10_000 + i * 997));
  fs.writeFileSync(path.join(src, 'big.bin'), randomBytes(3 * 1024 * 1024));
  server = await startServerProc(path.join(work.name, 'server'));
  agentDir = path.join(work.name, 'agent');
  const a = await enrollAndRun(server, agentDir);
  agent = a;
  const sourceId = (await okJson<{ id: string }>(cli(['sources', 'add', a.name, src, '--json']))).id;
  points.push((await okJson(cli(['backup', sourceId, '--wait', '--json']))).point.id);
  snap1 = path.join(work.name, 'snap1');
  execFileSync('cp', ['-a', src, snap1]); // keeps mtimes to the nanosecond
  fs.writeFileSync(path.join(src, 'sub', 'victim.bin'), victim);
  fs.writeFileSync(path.join(src, 'other.bin'), other);
  points.push((await okJson(cli(['backup', sourceId, '--wait', '--json']))).point.id);
}, 180_000);

afterAll(async () => {
  await agent?.stop();
  await server?.stop();
  work?.removeCallback();
});

describe('restore of a chunk damaged on the server', () => {
  it('a crc-valid chunk with wrong bytes fails the restore on the agent, naming the chunk and its file; the earlier point restores', async () => {
    await withDaemonsStopped(() => damageChunk(victimHash, true));
    const j = await restoreJob(points[1]!, path.join(work.name, 'r-bad'));
    expect(j.state).toBe('failed');
    expect(j.errorMessage).toContain(victimHash.toString('hex'));
    expect(j.errorMessage).toContain('victim.bin');
    expect(j.errorMessage).toMatch(/corrupt/);

    const to = path.join(work.name, 'r-p1');
    const ok = await restoreJob(points[0]!, to);
    expect(ok.state).toBe('succeeded');
    expect(await compareTrees(snap1, path.join(to, src))).toEqual([]);
  }, 120_000);

  it('damage the record crc sees fails the restore on the server, naming the chunk and its pack', async () => {
    let pack = '';
    await withDaemonsStopped(() => { pack = damageChunk(otherHash, false); });
    // Only other.bin: the chunk damaged in the test above is not asked for.
    const j = await restoreJob(points[1]!, path.join(work.name, 'r-bad2'), [path.join(src, 'other.bin')]);
    expect(j.state).toBe('failed');
    expect(j.errorMessage).toContain(otherHash.toString('hex'));
    expect(j.errorMessage).toContain(path.basename(pack));
    expect(j.errorMessage).toMatch(/checksum/);

    const to = path.join(work.name, 'r-p1-again');
    const ok = await restoreJob(points[0]!, to);
    expect(ok.state).toBe('succeeded');
    expect(await compareTrees(snap1, path.join(to, src))).toEqual([]);
  }, 120_000);
});
