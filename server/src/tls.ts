/**
 * The server's TLS identity. At first start the server makes a self-signed
 * certificate in <data>/tls (unless given one); agents pin its SHA-256
 * fingerprint at enrollment (it is part of the enrollment token), so no CA is
 * needed on a closed network.
 */
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generate } from 'selfsigned';
import { writeFileDurable } from './util/durable.js';

export interface TlsIdentity { key: string; cert: string; fingerprint: string }

export async function loadOrCreateTls(dataDir: string, given?: { keyFile: string; certFile: string }): Promise<TlsIdentity> {
  const dir = path.join(dataDir, 'tls');
  const keyFile = given?.keyFile ?? path.join(dir, 'key.pem');
  const certFile = given?.certFile ?? path.join(dir, 'cert.pem');
  let key: string, cert: string;
  try {
    [key, cert] = await Promise.all([fs.readFile(keyFile, 'utf8'), fs.readFile(certFile, 'utf8')]);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || given) throw e;
    const host = os.hostname();
    const pems = await generate([{ name: 'commonName', value: `strata-server ${host}` }], {
      keySize: 2048,
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 10 * 365 * 86400_000),
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'subjectAltName', altNames: [{ type: 2, value: host }, { type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
      ],
    } as never);
    key = pems.private;
    cert = pems.cert;
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileDurable(keyFile, key, 0o600);
    await writeFileDurable(certFile, cert, 0o644);
  }
  return { key, cert, fingerprint: certFingerprint(cert) };
}

/** Hex SHA-256 of the certificate's DER bytes, lower case without colons. */
export function certFingerprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256.replace(/:/g, '').toLowerCase();
}
