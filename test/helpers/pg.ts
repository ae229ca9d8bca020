/**
 * Throwaway PostgreSQL databases for tests. Each call creates its own
 * database (strata_test_<random>) on the test server, so test files running in
 * parallel never share tables; drop() removes it, even with connections open.
 *
 * The server: $STRATA_TEST_PG_URL if set, else postgres@ or root@ 127.0.0.1:5432
 * (trust auth), database "test". Without a reachable server PostgreSQL tests
 * skip, except under STRATA_REQUIRE_SERVERS=1 (CI), where they fail.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { skipOrFail } from './servers.js';

export interface PgDatabase {
  /** postgres:// URL of the fresh, empty database. */
  url: string;
  name: string;
  /** Drops the database (terminating leftover connections). Safe to call twice. */
  drop(): Promise<void>;
  /** Same as drop(). */
  cleanup(): Promise<void>;
}

const CANDIDATES = process.env.STRATA_TEST_PG_URL
  ? [process.env.STRATA_TEST_PG_URL]
  : ['postgres://postgres@127.0.0.1:5432/test', 'postgres://root@127.0.0.1:5432/test'];

let probe: Promise<{ url: string | null; why: string }> | undefined;

async function tryConnect(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (err) {
    return (err as Error).message || String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The admin URL of a reachable test server, or null (with the reason). Probed once per process. */
export function findPgServer(): Promise<{ url: string | null; why: string }> {
  probe ??= (async () => {
    const reasons: string[] = [];
    for (const url of CANDIDATES) {
      const err = await tryConnect(url);
      if (err === null) return { url, why: '' };
      reasons.push(`${redact(url)}: ${err}`);
    }
    return { url: null, why: reasons.join('; ') };
  })();
  return probe;
}

/**
 * True if PostgreSQL tests can run. False (after a warning) when no server is
 * reachable; throws instead under STRATA_REQUIRE_SERVERS=1.
 */
export async function pgAvailable(): Promise<boolean> {
  const { url, why } = await findPgServer();
  if (url) return true;
  skipOrFail('PostgreSQL', why);
  return false;
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

async function admin<T>(adminUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates a fresh database; throws if no server is reachable. */
export async function withPgDatabase(): Promise<PgDatabase> {
  const { url: adminUrl, why } = await findPgServer();
  if (!adminUrl) throw new Error(`no PostgreSQL server for tests: ${why}`);
  const name = `strata_test_${randomBytes(6).toString('hex')}`;
  await admin(adminUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await admin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  };
  return { url: u.toString(), name, drop, cleanup: drop };
}

/**
 * A fresh database, or null when PostgreSQL tests should skip (no server and
 * not required). Throws under STRATA_REQUIRE_SERVERS=1 without a server.
 */
export async function createPgDatabase(): Promise<PgDatabase | null> {
  if (!(await pgAvailable())) return null;
  return withPgDatabase();
}
