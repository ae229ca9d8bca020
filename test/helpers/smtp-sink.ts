/**
 * Starts test/helpers/smtp-sink.mjs (a real SMTP server process) and reads
 * what it received: envelope, headers, and the text body decoded from its
 * transfer encoding.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SINK = path.join(path.dirname(fileURLToPath(import.meta.url)), 'smtp-sink.mjs');

export interface ReceivedMail {
  /** Envelope sender and recipients, as the SMTP server saw them. */
  from: string | null;
  to: string[];
  /** The login used, or null. */
  user: string | null;
  headers: Record<string, string>;
  subject: string;
  text: string;
}

export interface SmtpSink {
  port: number;
  url: string;
  dir: string;
  messages(): ReceivedMail[];
  /** Waits until at least n messages arrived (throws after timeoutMs). */
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  stop(): Promise<void>;
}

export async function startSmtpSink(opts: { user?: string; pass?: string; failFirst?: number } = {}): Promise<SmtpSink> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-smtp-'));
  const args = [SINK, '--dir', dir, ...(opts.user ? ['--user', opts.user, '--pass', opts.pass ?? ''] : []), ...(opts.failFirst ? ['--fail-first', String(opts.failFirst)] : [])];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`smtp sink not listening in 15 s: ${out}`)), 15_000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /"event":"listening","port":(\d+)/.exec(out);
      if (m) { clearTimeout(t); resolve(Number(m[1])); }
    });
    proc.stderr.on('data', (d) => (out += d));
    proc.on('exit', (code) => { clearTimeout(t); reject(new Error(`smtp sink exited (${code}): ${out}`)); });
  });
  const messages = () => fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort((a, b) => parseInt(a) - parseInt(b))
    .map((f) => parseMail(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')), fs.readFileSync(path.join(dir, f.replace('.json', '.eml')), 'utf8')));
  return {
    port, dir, url: `smtp://127.0.0.1:${port}`, messages,
    async waitFor(n, timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const m = messages();
        if (m.length >= n) return m;
        if (Date.now() > end) throw new Error(`expected ${n} messages, got ${m.length} in ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop: () => new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode) return resolve();
      proc.once('exit', () => {
        fs.rmSync(dir, { recursive: true, force: true });
        resolve();
      });
      proc.kill('SIGTERM');
      setTimeout(() => proc.kill('SIGKILL'), 3000).unref();
    }),
  };
}

function parseMail(env: { from: string | null; to: string[]; user: string | null }, raw: string): ReceivedMail {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = decodeWords(line.slice(i + 1).trim());
  }
  let text = raw.slice(split + 4);
  const cte = (headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  if (cte === 'quoted-printable') text = Buffer.from(text.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
  else if (cte === 'base64') text = Buffer.from(text, 'base64').toString('utf8');
  return { ...env, headers, subject: headers.subject ?? '', text: text.replace(/\r\n/g, '\n') };
}

// RFC 2047 encoded words (=?UTF-8?Q?...?= / ?B?), used for long or non-ASCII subjects.
function decodeWords(s: string): string {
  return s.replace(/=\?([^?]+)\?([BQbq])\?([^?]*)\?=\s*(?==\?)?/g, (_, _cs: string, enc: string, data: string) =>
    enc.toUpperCase() === 'B'
      ? Buffer.from(data, 'base64').toString('utf8')
      : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8'));
}
