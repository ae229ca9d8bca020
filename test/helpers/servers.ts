/**
 * Tests that need a real server (PostgreSQL) skip on a laptop without one, but
 * never in CI: .ci/run sets STRATA_REQUIRE_SERVERS=1, which turns the skip into
 * a failure.
 */
export const requireServers = process.env.STRATA_REQUIRE_SERVERS === '1';

export function skipOrFail(what: string, why: string): boolean {
  if (requireServers) throw new Error(`${what} is required in CI (STRATA_REQUIRE_SERVERS=1) but unavailable: ${why}`);
  console.warn(`skipping ${what}: ${why}`);
  return true;
}
