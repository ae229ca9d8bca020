#!/usr/bin/env node
/**
 * `strata`: runs the server (`strata server`) and administers it over the REST
 * API (every other command). Exit codes: 0 ok, 1 failure, 2 bad usage/input,
 * 3 credential refused, 4 not found, 5 server unreachable/busy.
 */
import { Command, Option } from 'commander';
import { StrataError } from '../errors.js';
import { adminCommands } from './admin.js';
import { alertCommands } from './alerts.js';
import { protectionCommands } from './protection.js';
import { retentionCommand } from './retention.js';
import { serverCommand } from './server-command.js';
import { vaultCommands } from './vault.js';

const program = new Command('strata')
  .description('Strata backup server and admin CLI')
  .option('--server <url>', 'server URL (default: STRATA_URL, or the server.json in the data dir)')
  .option('--token <token>', 'admin credential (default: STRATA_TOKEN, or admin.token in the data dir)')
  .option('--data <dir>', 'server data dir, on the server machine (default: STRATA_DATA)')
  .option('--ca <file>', 'certificate to trust for the server (default: STRATA_CA, or tls/cert.pem in the data dir)')
  .addOption(new Option('--insecure', 'do not check the server certificate').hideHelp())
  .showHelpAfterError();

serverCommand(program);
adminCommands(program);
alertCommands(program);
protectionCommands(program);
retentionCommand(program);
vaultCommands(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  const err = e instanceof StrataError ? e : null;
  process.stderr.write(`strata: ${err ? '' : 'error: '}${(e as Error).message}\n`);
  process.exit(err?.exitCode ?? 1);
});
