#!/usr/bin/env node
/**
 * A real SMTP server for tests (smtp-server, the nodemailer project's server
 * library), run as its own process on a loopback port. Every message it
 * accepts is written to DIR as <n>.eml (the raw message) and <n>.json (the
 * envelope), then announced on stdout as one JSON line; the first line is
 * {"event":"listening","port":N}.
 *
 *   node test/helpers/smtp-sink.mjs --dir DIR [--port 0] [--user U --pass P] [--fail-first N]
 *
 * --user/--pass require that login (plain AUTH is allowed without TLS: the
 * sink is loopback-only); --fail-first answers the first N messages with a
 * temporary 451, to exercise the sender's retries. STARTTLS is not offered.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const dir = opt('dir');
if (!dir) {
  process.stderr.write('usage: smtp-sink.mjs --dir DIR [--port N] [--user U --pass P] [--fail-first N]\n');
  process.exit(2);
}
fs.mkdirSync(dir, { recursive: true });
const user = opt('user');
const pass = opt('pass');
let failLeft = Number(opt('fail-first', '0'));
let n = 0;
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');

const server = new SMTPServer({
  name: 'strata-test-sink',
  secure: false,
  disabledCommands: user ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
  authOptional: !user,
  allowInsecureAuth: true,
  logger: false,
  onAuth(auth, _session, cb) {
    if (auth.username === user && auth.password === pass) cb(null, { user: auth.username });
    else cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
  },
  onData(stream, session, cb) {
    const parts = [];
    stream.on('data', (d) => parts.push(d));
    stream.on('end', () => {
      if (failLeft > 0) {
        failLeft--;
        say({ event: 'refused', reason: 'fail-first' });
        return cb(Object.assign(new Error('Try again later (test sink)'), { responseCode: 451 }));
      }
      const id = ++n;
      const envelope = {
        from: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
        to: session.envelope.rcptTo.map((r) => r.address),
        user: session.user ?? null,
      };
      // .eml first: a reader that sees the .json may read the message.
      fs.writeFileSync(path.join(dir, `${id}.eml`), Buffer.concat(parts));
      fs.writeFileSync(path.join(dir, `${id}.json`), JSON.stringify(envelope));
      say({ event: 'message', id, ...envelope });
      cb(null, `queued as ${id}`);
    });
  },
});
server.on('error', (e) => process.stderr.write(`smtp-sink: ${e.message}\n`));
server.listen(Number(opt('port', '0')), '127.0.0.1', () => say({ event: 'listening', port: server.server.address().port }));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
