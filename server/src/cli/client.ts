/**
 * The admin CLI's REST client. Finds the server from --server / STRATA_URL or
 * <data>/server.json, the credential from --token / STRATA_TOKEN or
 * <data>/admin.token, and trusts the server's self-signed certificate from
 * <data>/tls/cert.pem, --ca / STRATA_CA, or not at all with --insecure.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { StrataError } from '../errors.js';

export interface ClientOptions { server?: string; token?: string; data?: string; ca?: string; insecure?: boolean }

export class ApiClient {
  private constructor(readonly baseUrl: string, private token: string, private ca: string | undefined, private insecure: boolean) {}

  static fromOptions(o: ClientOptions): ApiClient {
    const data = o.data ?? process.env.STRATA_DATA;
    let server = o.server ?? process.env.STRATA_URL;
    if (!server && data) {
      try {
        server = JSON.parse(fs.readFileSync(path.join(data, 'server.json'), 'utf8')).url;
      } catch {
        /* fall through to the error below */
      }
    }
    if (!server) throw new StrataError('NO_SERVER', 'no server given: use --server URL, STRATA_URL, or --data DIR on the server machine', 'invalid');
    let token = o.token ?? process.env.STRATA_TOKEN;
    if (!token && data) {
      try {
        token = fs.readFileSync(path.join(data, 'admin.token'), 'utf8').trim();
      } catch {
        /* fall through */
      }
    }
    if (!token) throw new StrataError('NO_CREDENTIAL', 'no admin credential: use --token, STRATA_TOKEN, or --data DIR on the server machine', 'auth');
    let ca: string | undefined;
    const caFile = o.ca ?? process.env.STRATA_CA ?? (data ? path.join(data, 'tls', 'cert.pem') : undefined);
    if (caFile && fs.existsSync(caFile)) ca = fs.readFileSync(caFile, 'utf8');
    return new ApiClient(server.replace(/\/+$/, ''), token, ca, !!o.insecure || process.env.STRATA_INSECURE === '1');
  }

  get<T = unknown>(p: string) { return this.request<T>('GET', p); }
  post<T = unknown>(p: string, body?: unknown) { return this.request<T>('POST', p, body ?? {}); }
  delete<T = unknown>(p: string) { return this.request<T>('DELETE', p); }

  request<T>(method: string, p: string, body?: unknown): Promise<T> {
    const url = new URL('/api/v1' + p, this.baseUrl);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise<T>((resolve, reject) => {
      const req = mod.request(url, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}) },
        ...(url.protocol === 'https:' ? { ca: this.ca, rejectUnauthorized: !this.insecure, checkServerIdentity: () => undefined } : {}),
      }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d) => parts.push(d));
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          let json: unknown = undefined;
          try { json = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
          if ((res.statusCode ?? 500) >= 400) {
            const e = (json as { error?: { code: string; message: string } })?.error;
            const kind = res.statusCode === 404 ? 'not-found' : res.statusCode === 401 ? 'auth' : res.statusCode! < 500 ? 'invalid' : res.statusCode === 503 ? 'transient' : 'permanent';
            reject(new StrataError(e?.code ?? 'HTTP_' + res.statusCode, e?.message ?? text ?? `HTTP ${res.statusCode}`, kind));
          } else resolve(json as T);
        });
      });
      req.on('error', (e) => reject(new StrataError('SERVER_UNREACHABLE', `cannot reach the Strata server at ${this.baseUrl}: ${e.message}`, 'transient')));
      if (payload) req.write(payload);
      req.end();
    });
  }
}
