/**
 * Runs catalog tests on both engines. describeEngines(title, fn) declares one
 * describe block per engine; each test gets a fresh location (a tmp data dir
 * for SQLite, a throwaway database for PostgreSQL), and every catalog opened
 * through the harness is closed after the test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe } from 'vitest';
import { openCatalog, type Catalog, type CatalogLocation, type Clock, type Engine } from '../../server/src/catalog/index.js';
import { pgAvailable, withPgDatabase } from '../helpers/pg.js';

export const ENGINES: readonly Engine[] = ['sqlite', 'postgres'];

const READY: Record<Engine, boolean> = { sqlite: true, postgres: await pgAvailable() };

export interface CatalogHarness {
  readonly engine: Engine;
  /** This test's location (fresh and empty at the start of each test). */
  readonly location: CatalogLocation;
  /** Opens a catalog on this test's location (again, to test reopening). */
  open(opts?: { clock?: Clock }): Promise<Catalog>;
}

export function describeEngines(title: string, fn: (h: CatalogHarness) => void): void {
  for (const engine of ENGINES) {
    describe.skipIf(!READY[engine])(`${title} [${engine}]`, () => fn(harness(engine)));
  }
}

function harness(engine: Engine): CatalogHarness {
  let location: CatalogLocation | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  const opened: Catalog[] = [];

  beforeEach(async () => {
    if (engine === 'sqlite') {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'strata-catalog-'));
      location = { dataDir: dir };
      cleanup = async () => rmSync(dir, { recursive: true, force: true });
    } else {
      const db = await withPgDatabase();
      location = { databaseUrl: db.url };
      cleanup = db.drop;
    }
  });

  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((c) => c.close()));
    await cleanup?.();
    location = undefined;
    cleanup = undefined;
  });

  return {
    engine,
    get location() {
      if (!location) throw new Error('harness location is only valid inside a test');
      return location;
    },
    async open(opts) {
      const c = await openCatalog({ ...this.location, clock: opts?.clock });
      opened.push(c);
      return c;
    },
  };
}

/** A clock tests can move. */
export function fakeClock(start = new Date('2026-01-15T10:00:00.000Z')) {
  let t = start.getTime();
  return {
    now: () => new Date(t),
    set: (d: Date) => void (t = d.getTime()),
    advance: (ms: number) => void (t += ms),
  };
}

export const hex64 = (n: number) => n.toString(16).padStart(64, '0');

/** A syntactically valid Ed25519 public key PEM for agents (the catalog doesn't verify it). */
export const SAMPLE_KEY = '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n';
