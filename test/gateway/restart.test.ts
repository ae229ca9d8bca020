/** A server restarted on the same data dir keeps its TLS identity, admin credential and enrolled agents. */
import path from 'node:path';
import { expect, it } from 'vitest';
import tmp from 'tmp';
import { pino } from 'pino';
import { connectAndHello, enroll } from '../../agent/src/handshake.js';
import { startServer } from '../../server/src/server.js';
import { createEnrollmentToken } from '../../server/src/services/enrollment.js';

it('restart on the same data dir: same certificate, same admin token, the agent still authenticates', async () => {
  const dir = tmp.dirSync({ unsafeCleanup: true });
  const agentDir = tmp.dirSync({ unsafeCleanup: true });
  const log = pino({ level: 'silent' });
  const dataDir = path.join(dir.name, 'data');
  try {
    const a = await startServer({ dataDir, port: 0, log });
    const id = await enroll(a.url, (await createEnrollmentToken(a.catalog, a.certFingerprint)).token, agentDir.name);
    await a.close();
    const b = await startServer({ dataDir, port: 0, log });
    try {
      expect(b.certFingerprint).toBe(a.certFingerprint);
      expect(b.adminToken).toBe(a.adminToken);
      const { link } = await connectAndHello({ ...id, serverUrl: b.agentUrl });
      link.close();
      expect((await b.catalog.getAgent(id.agentId))?.lastSeenAt).toBeInstanceOf(Date);
    } finally {
      await b.close();
    }
  } finally {
    dir.removeCallback();
    agentDir.removeCallback();
  }
});
