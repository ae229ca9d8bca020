import type { Command } from 'commander';

export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[?([^\]]*)\]?:)?(\d+)$/.exec(s);
  if (!m) throw new Error(`--listen '${s}' is not HOST:PORT`);
  return { host: m[1] || '127.0.0.1', port: Number(m[2]) };
}

export function serverCommand(program: Command) {
  program
    .command('server')
    .description('run the backup server (REST API and agent gateway on one port)')
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8443')
    .option('--database <url>', 'PostgreSQL catalog (postgres://…); default: embedded SQLite in the data dir')
    .option('--tls-key <file>', 'TLS private key (default: self-signed, made at first start)')
    .option('--tls-cert <file>', 'TLS certificate')
    .option('--insecure-plain', 'serve plain HTTP/ws without TLS (tests only)')
    .action(async (o: { listen: string; database?: string; tlsKey?: string; tlsCert?: string; insecurePlain?: boolean }) => {
      // Loaded here, not at the top: the admin commands must start fast and need none of it.
      const [{ startServer }, { log }] = await Promise.all([import('../server.js'), import('../log.js')]);
      const g = program.opts<{ data?: string }>();
      const dataDir = g.data ?? process.env.STRATA_DATA ?? './strata-data';
      const { host, port } = parseListen(o.listen);
      const srv = await startServer({
        dataDir, host, port, databaseUrl: o.database ?? process.env.STRATA_DATABASE_URL,
        insecure: !!o.insecurePlain, tlsKeyFile: o.tlsKey, tlsCertFile: o.tlsCert,
      });
      log.info({ url: srv.url, agents: srv.agentUrl, catalog: o.database ? 'postgresql' : 'sqlite' }, 'Strata server listening');
      process.stdout.write(`Strata server listening on ${srv.url} (agents connect to ${srv.agentUrl})\n`);
      process.stdout.write(`Admin credential: ${srv.adminTokenFile}\n`);
      if (srv.certFingerprint) process.stdout.write(`TLS certificate SHA-256: ${srv.certFingerprint}\n`);
      const stop = async (sig: string) => {
        log.info({ sig }, 'stopping');
        await srv.close().catch(() => {});
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
    });
}
