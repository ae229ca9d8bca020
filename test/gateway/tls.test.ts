/** The server speaks TLS 1.3 by default and prefers AES-128-GCM (the cheapest strong suite with AES-NI). */
import tls from 'node:tls';
import { expect, it } from 'vitest';
import { testServer } from './harness.js';

it('negotiates TLS 1.3 with AES-128-GCM and presents the pinned certificate', async () => {
  const t = await testServer();
  try {
    const port = Number(new URL(t.srv.url).port);
    const info = await new Promise<{ cipher: string; version: string; fp: string }>((resolve, reject) => {
      const c = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
        const r = { cipher: c.getCipher().standardName, version: c.getProtocol() ?? '', fp: c.getPeerCertificate().fingerprint256.replace(/:/g, '').toLowerCase() };
        c.end();
        resolve(r);
      });
      c.on('error', reject);
    });
    expect(info).toEqual({ cipher: 'TLS_AES_128_GCM_SHA256', version: 'TLSv1.3', fp: t.srv.certFingerprint });
  } finally {
    await t.close();
  }
});
