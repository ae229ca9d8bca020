/**
 * A real Azure Blob emulator (Azurite, blob service only) for tests, started as
 * a child process on a free loopback port. In memory by default; pass
 * `location` to keep the data in a folder (then stop() + startAzurite() with
 * the same location and port brings the same blobs back, e.g. for resume tests).
 *
 * Also exports spawnListening(), the small "start a server child and wait for
 * the line that names its port" helper that s3-server.ts uses too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';

const require = createRequire(import.meta.url);

/** Azurite's well-known development account (public; not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  port: number;
  /** http://127.0.0.1:<port>/devstoreaccount1 */
  blobEndpoint: string;
  connectionString: string;
  accountName: string;
  accountKey: string;
  /** Stops the emulator (SIGTERM, then SIGKILL after 5 s). Safe to call twice. */
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  /** Keep blobs in this folder instead of in memory. */
  location?: string;
  /** Listen on this port (default: a free one). */
  port?: number;
  /** Give up after this long (default 20 s). */
  startTimeoutMs?: number;
}

export async function startAzurite(opts: AzuriteOptions = {}): Promise<Azurite> {
  const main = path.join(path.dirname(require.resolve('azurite/package.json')), 'dist/src/blob/main.js');
  const args = [
    main, '--blobHost', '127.0.0.1', '--blobPort', String(opts.port ?? 0),
    '--skipApiVersionCheck', '--loose', '--disableTelemetry',
    ...(opts.location ? ['--location', opts.location] : ['--inMemoryPersistence']),
  ];
  const child = await spawnListening('azurite', process.execPath, args, /listens on http:\/\/127\.0\.0\.1:(\d+)/,
    opts.startTimeoutMs ?? 20_000, opts.location ?? os.tmpdir());
  const blobEndpoint = `http://127.0.0.1:${child.port}/${AZURITE_ACCOUNT}`;
  return {
    port: child.port,
    blobEndpoint,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${blobEndpoint};`,
    accountName: AZURITE_ACCOUNT,
    accountKey: AZURITE_KEY,
    stop: child.stop,
  };
}

export interface ListeningChild {
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/**
 * Spawn `cmd args`, wait until its output matches `ready` (group 1 = port).
 * Rejects with the child's output if it exits or does not become ready in time.
 */
export function spawnListening(
  name: string, cmd: string, args: string[], ready: RegExp, timeoutMs: number, cwd?: string,
): Promise<ListeningChild> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let output = '';
    let settled = false;
    const exited = new Promise<void>((r) => child.once('exit', () => { running.delete(child); r(); }));
    const stop = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    };
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void stop();
      reject(new Error(`${name} did not start: ${why}\n${output.slice(-2000)}`));
    };
    const timer = setTimeout(() => fail(`not listening after ${timeoutMs} ms`), timeoutMs);
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = ready.exec(output);
      if (m && !settled) {
        settled = true;
        clearTimeout(timer);
        resolve({ port: Number(m[1]), process: child, stop });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (err) => fail(err.message));
    child.once('exit', (code, sig) => fail(`exited (${sig ?? code})`));
  });
}
