/** The admin commands: thin wrappers over the REST API. Every list has --json. */
import type { Command } from 'commander';
import { StrataError } from '../errors.js';
import { ApiClient, type ClientOptions } from './client.js';
import { bytes, duration, table } from './format.js';
import { finishJob } from './wait.js';

type Row = Record<string, unknown>;
const out = (s: string) => process.stdout.write(s + '\n');
const json = (v: unknown) => out(JSON.stringify(v, null, 2));
const collect = (v: string, prev: string[] = []) => [...prev, v];

export function adminCommands(program: Command) {
  const api = () => ApiClient.fromOptions(program.opts<ClientOptions>());

  const token = program.command('token').description('enrollment tokens for new agents');
  token.command('create').description('create a one-time enrollment token (prints only the token)')
    .option('--ttl <hours>', 'hours until the token expires', '24')
    .action(async (o: { ttl: string }) => {
      const r = await api().post<{ token: string }>('/tokens', { ttlHours: Number(o.ttl) });
      out(r.token);
    });

  const agents = program.command('agents').description('enrolled protection agents');
  agents.command('list').option('--json').action(async (o: { json?: boolean }) => {
    const list = await api().get<Row[]>('/agents');
    if (o.json) { json(list); return; }
    out(table(list.map((a) => ({ ...a, online: a.online ? 'online' : 'offline', lastSeen: a.lastSeenAt ?? '-', revoked: a.revokedAt ? 'yes' : '' })), ['name', 'id', 'hostname', 'online', 'lastSeen', 'revoked']));
  });
  agents.command('revoke <agent>').description('revoke an agent: it can no longer connect').action(async (agent: string) => {
    await api().post(`/agents/${encodeURIComponent(agent)}/revoke`);
    out(`agent ${agent} revoked`);
  });

  const sources = program.command('sources').description('data sources (folders an agent protects)');
  sources.command('add <agent> <paths...>').description('protect folders of an agent')
    .option('--name <name>', 'data source name (default: the paths)')
    .option('--include <pattern>', 'only entries matching (repeatable)', collect)
    .option('--exclude <pattern>', 'skip entries matching (repeatable)', collect)
    .option('--json')
    .action(async (agent: string, paths: string[], o: { name?: string; include?: string[]; exclude?: string[]; json?: boolean }) => {
      const s = await api().post<Row>('/sources', { agent, paths, name: o.name, includes: o.include ?? [], excludes: o.exclude ?? [] });
      if (o.json) json(s);
      else out(String(s.id));
    });
  sources.command('list').option('--agent <agent>').option('--json').action(async (o: { agent?: string; json?: boolean }) => {
    const list = await api().get<Row[]>(`/sources${o.agent ? '?agent=' + encodeURIComponent(o.agent) : ''}`);
    if (o.json) { json(list); return; }
    out(table(list.map((s) => ({ ...s, paths: (s.paths as string[]).join(' ') })), ['id', 'name', 'agentId', 'paths']));
  });
  sources.command('remove <source>').action(async (s: string) => {
    await api().delete(`/sources/${encodeURIComponent(s)}`);
    out(`data source ${s} removed`);
  });

  program.command('backup <source>').description('back up a data source now')
    .option('--wait', 'wait for the job and show progress').option('--json')
    .action(async (source: string, o: { wait?: boolean; json?: boolean }) => {
      const c = api();
      const job = await c.post<Row>('/backups', { dataSource: source });
      await finishJob(c, job, o, async (j) => {
        const pointId = (j.result as Row | null)?.pointId as string | undefined;
        return { point: pointId ? await c.get(`/points/${pointId}`) : null };
      });
    });

  program.command('restore <point>').description('restore a recovery point')
    .option('--to <dir>', 'absolute folder on the agent (default: the original location)')
    .option('--agent <agent>', 'restore on another agent')
    .option('--path <path>', 'restore only this original path (repeatable)', collect)
    .option('--overwrite', 'replace existing files')
    .option('--vault-target <target>', 'read the vault even if the point is on disk: primary, secondary (cross-region restore) or auto')
    .option('--wait').option('--json')
    .action(async (point: string, o: { to?: string; agent?: string; path?: string[]; overwrite?: boolean; vaultTarget?: string; wait?: boolean; json?: boolean }) => {
      const c = api();
      const job = await c.post<Row>('/restores', {
        point, target: o.to ?? '', agent: o.agent, paths: o.path ?? [], overwrite: !!o.overwrite, ...(o.vaultTarget !== undefined ? { vaultTarget: o.vaultTarget } : {}),
      });
      await finishJob(c, job, o);
    });

  const points = program.command('points').description('recovery points');
  points.command('list [source]').option('--json').action(async (source: string | undefined, o: { json?: boolean }) => {
    const list = await api().get<Row[]>(`/points${source ? '?source=' + encodeURIComponent(source) : ''}`);
    if (o.json) { json(list); return; }
    out(table(list.map((p) => ({ ...p, size: bytes(Number(p.bytes)), added: bytes(Number(p.bytesAdded)) })), ['id', 'dataSourceId', 'createdAt', 'files', 'size', 'added']));
  });

  program.command('prune <point>').description('delete a recovery point (space returns with gc)').option('--json')
    .action(async (point: string, o: { json?: boolean }) => {
      const c = api();
      await finishJob(c, await c.delete<Row>(`/points/${encodeURIComponent(point)}`), { wait: true, json: o.json });
    });
  program.command('gc').description('garbage-collect chunks no recovery point references')
    .option('--rewrite-below <share>', 'rewrite packs whose live share is below this (0..1; default 0.5)')
    .option('--json')
    .action(async (o: { json?: boolean; rewriteBelow?: string }) => {
      const c = api();
      await finishJob(c, await c.post<Row>('/gc', o.rewriteBelow ? { rewriteBelow: Number(o.rewriteBelow) } : {}), { wait: true, json: o.json });
    });
  program.command('verify [point]').description('re-read and re-hash the chunks of one or all recovery points').option('--json')
    .action(async (point: string | undefined, o: { json?: boolean }) => {
      const c = api();
      await finishJob(c, await c.post<Row>('/verify', point ? { point } : {}), { wait: true, json: o.json });
    });

  program.command('store').description("the chunk store's size: chunks, packs, bytes on disk").option('--json')
    .action(async (o: { json?: boolean }) => {
      const st = await api().get<{ chunks: number; packs: number; bytesOnDisk: number }>('/store');
      if (o.json) json(st);
      else out(`${st.chunks} chunks in ${st.packs} packs, ${bytes(st.bytesOnDisk)} on disk`);
    });

  const jobs = program.command('jobs').description('backup, restore, prune, gc and verify jobs');
  jobs.command('list').option('--type <type>').option('--state <state>').option('--limit <n>', '', '50').option('--json')
    .action(async (o: { type?: string; state?: string; limit: string; json?: boolean }) => {
      const q = new URLSearchParams({ limit: o.limit, ...(o.type ? { type: o.type } : {}), ...(o.state ? { state: o.state } : {}) });
      const list = await api().get<Row[]>(`/jobs?${q}`);
      if (o.json) { json(list); return; }
      out(table(list.map((j) => ({ ...j, sent: bytes(Number(j.bytesSent ?? 0)) })), ['id', 'type', 'state', 'createdAt', 'sent', 'errorMessage']));
    });
  jobs.command('show <job>').option('--json').action(async (id: string, o: { json?: boolean }) => {
    const j = await api().get<Row>(`/jobs/${encodeURIComponent(id)}`);
    if (o.json) { json(j); return; }
    for (const [k, v] of Object.entries(j)) out(`${k.padEnd(14)} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  });
  jobs.command('cancel <job>').action(async (id: string) => {
    await api().post(`/jobs/${encodeURIComponent(id)}/cancel`);
    out(`job ${id} cancelled`);
  });
}

