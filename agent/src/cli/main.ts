#!/usr/bin/env node
/**
 * `strata-agent`: enroll this machine with a Strata server, run the protection
 * agent daemon, and show its status. Exit codes: 0 ok, 1 failure, 2 bad usage,
 * 3 refused by the server (token, identity, certificate).
 */
import fs from 'node:fs/promises';
import { Command } from 'commander';
import { FatalAgentError, runDaemon } from '../daemon.js';
import { nativeStatus } from '../chunker/index.js';
import { enroll } from '../handshake.js';
import { log } from '../log.js';
import { tuneAllocator } from '../util/allocator.js';
import { tuneHeap } from '../util/memory.js';
import { defaultStateDir, loadIdentity, statusPath, type Status } from '../state.js';

const program = new Command('strata-agent').description('Strata protection agent').showHelpAfterError();
const stateOpt = (c: Command) => c.option('--state <dir>', 'state dir (default: STRATA_AGENT_STATE, /var/lib/strata-agent as root, ~/.strata-agent otherwise)');

stateOpt(program.command('enroll'))
  .description('enroll this machine with a server, using a token from `strata token create`')
  .requiredOption('--server <url>', 'server URL, e.g. wss://backup.example:8443 (https:// works too)')
  .requiredOption('--token <token>', 'one-time enrollment token')
  .action(async (o: { server: string; token: string; state?: string }) => {
    const dir = o.state ?? defaultStateDir();
    const id = await enroll(o.server, o.token, dir);
    process.stdout.write(`enrolled as agent '${id.agentName}' (${id.agentId}); identity in ${dir}\n`);
  });

stateOpt(program.command('run'))
  .description('run the agent daemon: stay connected and run the jobs the server sends')
  .action(async (o: { state?: string }) => {
    const ac = new AbortController();
    process.on('SIGINT', () => ac.abort());
    process.on('SIGTERM', () => ac.abort());
    log.info({ allocator: tuneAllocator(), heap: tuneHeap() }, 'memory allocator');
    log.info(nativeStatus(), nativeStatus().native ? 'chunking and hashing: native addon' : 'chunking and hashing: JavaScript');
    await runDaemon(o.state ?? defaultStateDir(), log, { signal: ac.signal });
  });

stateOpt(program.command('status'))
  .description("show this agent's identity and what its daemon is doing")
  .option('--json')
  .action(async (o: { state?: string; json?: boolean }) => {
    const dir = o.state ?? defaultStateDir();
    const id = await loadIdentity(dir);
    let st: Status | null = null;
    try { st = JSON.parse(await fs.readFile(statusPath(dir), 'utf8')); } catch { /* never ran */ }
    const running = st ? isAlive(st.pid) : false;
    const view = { agentId: id.agentId, agentName: id.agentName, server: id.serverUrl, enrolledAt: id.enrolledAt, daemon: running ? 'running' : 'stopped', connected: running && !!st?.connected, job: running ? st?.job ?? null : null, lastError: st?.lastError ?? null };
    if (o.json) return void process.stdout.write(JSON.stringify(view, null, 2) + '\n');
    for (const [k, v] of Object.entries(view)) process.stdout.write(`${k.padEnd(11)} ${v ?? '-'}\n`);
  });

function isAlive(pid: number) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

program.parseAsync(process.argv).catch((e: unknown) => {
  const refused = e instanceof FatalAgentError || /token|pinned|revoked|identity/.test((e as Error).message);
  process.stderr.write(`strata-agent: ${(e as Error).message}\n`);
  process.exit(refused ? 3 : 1);
});
