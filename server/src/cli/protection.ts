/**
 * Protection commands: `strata groups …`, `strata policies …` (`strata
 * vaults` is an alias of `strata vault`, cli/vault.ts). Thin wrappers over
 * /groups and /policies; every list and show has --json; range errors come
 * from the server (exit 2, the range named).
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import { StrataError } from '../errors.js';
import { ApiClient, type ClientOptions } from './client.js';
import { table } from './format.js';

type Row = Record<string, unknown>;
const out = (s: string) => process.stdout.write(s + '\n');
const json = (v: unknown) => out(JSON.stringify(v, null, 2));
const seg = (s: string) => encodeURIComponent(s);

/** '14' -> 14 so that the server's message shows the number; anything else goes as typed. */
const num = (v: string | undefined) => (v !== undefined && /^-?\d+$/.test(v.trim()) ? Number(v) : v);

function readPolicyFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new StrataError('FILE_UNREADABLE', `cannot read policy file ${file}: ${(e as Error).message}`, 'invalid');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new StrataError('INVALID_JSON', `policy file ${file} is not valid JSON: ${(e as Error).message}`, 'invalid');
  }
}

interface GroupOpts { name?: string; syncFrequency?: string; retentionDays?: string; maxPoints?: string; onlinePolicy?: string; json?: boolean }

function groupBody(o: GroupOpts): Row {
  const b: Row = {};
  if (o.name !== undefined) b.name = o.name;
  if (o.syncFrequency !== undefined) b.syncFrequency = num(o.syncFrequency);
  if (o.retentionDays !== undefined) b.retentionDays = num(o.retentionDays);
  if (o.maxPoints !== undefined) b.maxPoints = num(o.maxPoints);
  if (o.onlinePolicy !== undefined) b.onlinePolicy = o.onlinePolicy === 'none' ? null : o.onlinePolicy;
  return b;
}

function showGroup(g: Row) {
  out(`name           ${g.name}`);
  out(`id             ${g.id}`);
  out(`state          ${g.state}`);
  out(`sync every     ${g.syncFrequency}`);
  out(`retention      ${g.retentionDays} days, at most ${g.maxPoints} points per data source`);
  out(`online policy  ${g.onlinePolicy ?? '-'}`);
  const members = (g.members as Row[] | undefined) ?? [];
  out(`members        ${members.length ? '' : '-'}`);
  if (members.length) out(table(members.map((s) => ({ ...s, agent: s.agentName ?? s.agentId, paths: (s.paths as string[]).join(' ') })), ['name', 'id', 'agent', 'paths']));
}

export function protectionCommands(program: Command) {
  const api = () => ApiClient.fromOptions(program.opts<ClientOptions>());

  // ---- groups
  const groups = program.command('groups').description('protection groups: data sources sharing a short-term and an online policy');
  groups.command('create <name>').description('create a protection group')
    // Required, but checked by the server so that a missing one exits 2 with the allowed range, like a wrong one.
    .option('--sync-frequency <every>', 'required: how often to synchronize: 15m, 30m, 45m, 1h, 2h, 4h, 6h, 12h or 24h')
    .option('--retention-days <days>', 'required: days to keep recovery points on server disk (1..448)')
    .option('--max-points <n>', 'recovery points kept per data source (default 64)')
    .option('--online-policy <policy>', 'online policy sending points to the vault')
    .option('--json')
    .action(async (name: string, o: GroupOpts) => {
      const g = await api().post<Row>('/groups', groupBody({ ...o, name }));
      if (o.json) json(g);
      else out(`protection group ${g.name} created (${g.id}): every ${g.syncFrequency}, kept ${g.retentionDays} days`);
    });
  groups.command('list').option('--json').action(async (o: { json?: boolean }) => {
    const list = await api().get<Row[]>('/groups');
    if (o.json) { json(list); return; }
    out(table(list.map((g) => ({ ...g, every: g.syncFrequency, days: g.retentionDays, members: g.memberCount, online: g.onlinePolicy ?? '-' })), ['name', 'state', 'every', 'days', 'maxPoints', 'online', 'members', 'id']));
  });
  groups.command('show <group>').option('--json').action(async (group: string, o: { json?: boolean }) => {
    const g = await api().get<Row>(`/groups/${seg(group)}`);
    if (o.json) json(g);
    else showGroup(g);
  });
  groups.command('edit <group>').description('change a group\'s name or policies')
    .option('--name <name>', 'new name')
    .option('--sync-frequency <every>').option('--retention-days <days>').option('--max-points <n>')
    .option('--online-policy <policy>', "online policy, or 'none'")
    .option('--json')
    .action(async (group: string, o: GroupOpts) => {
      const b = groupBody(o);
      if (!Object.keys(b).length) throw new StrataError('NOTHING_TO_CHANGE', 'nothing to change: give --name, --sync-frequency, --retention-days, --max-points or --online-policy', 'invalid');
      const g = await api().request<Row>('PATCH', `/groups/${seg(group)}`, b);
      if (o.json) json(g);
      else out(`protection group ${g.name} updated`);
    });
  groups.command('add-member <group> <source>').description('protect a data source with this group').option('--json')
    .action(async (group: string, source: string, o: { json?: boolean }) => {
      const s = await api().post<Row>(`/groups/${seg(group)}/members`, { dataSource: source });
      if (o.json) json(s);
      else out(`data source ${s.name} added to ${group}`);
    });
  groups.command('remove-member <group> <source>').action(async (group: string, source: string) => {
    await api().delete(`/groups/${seg(group)}/members/${seg(source)}`);
    out(`data source ${source} removed from ${group}`);
  });
  groups.command('stop <group>').description('stop protection (keeps the recovery points unless --delete-data)')
    .option('--delete-data', 'also prune every recovery point of the members (space returns with gc)')
    .option('--json')
    .action(async (group: string, o: { deleteData?: boolean; json?: boolean }) => {
      const g = await api().post<Row>(`/groups/${seg(group)}/stop`, { deleteData: !!o.deleteData });
      if (o.json) json(g);
      else out(`protection of ${g.name} stopped${o.deleteData ? `; ${g.pruned} recovery points pruned` : '; recovery points kept'}`);
    });
  groups.command('resume <group>').description('resume protection').option('--json')
    .action(async (group: string, o: { json?: boolean }) => {
      const g = await api().post<Row>(`/groups/${seg(group)}/resume`);
      if (o.json) json(g);
      else out(`protection of ${g.name} resumed`);
    });
  groups.command('delete <group>').description('delete a group (its data sources and points stay)').action(async (group: string) => {
    await api().delete(`/groups/${seg(group)}`);
    out(`protection group ${group} deleted`);
  });

  // ---- online policies
  const policies = program.command('policies').description('online policies: vault schedule and GFS retention');
  policies.command('create <name>').description('create an online policy from a JSON file (see docs/protection.md)')
    .requiredOption('--file <policy.json>', 'the policy in its JSON form').option('--json')
    .action(async (name: string, o: { file: string; json?: boolean }) => {
      const p = await api().post<Row>('/policies', { name, spec: readPolicyFile(o.file) });
      if (o.json) json(p);
      else out(`online policy ${p.name} created (${p.id})`);
    });
  policies.command('list').option('--json').action(async (o: { json?: boolean }) => {
    const list = await api().get<Row[]>('/policies');
    if (o.json) { json(list); return; }
    out(table(list.map((p) => {
      const spec = p.spec as { schedule: { frequency: string; weekdays?: string[]; times: string[] }; retention: Row; timeZone: string };
      const when = `${spec.schedule.frequency}${spec.schedule.weekdays ? ' ' + spec.schedule.weekdays.join(',') : ''} ${spec.schedule.times.join(',')} ${spec.timeZone}`;
      const keep = Object.entries(spec.retention).map(([k, r]) => `${k} ${(r as Row).count}`).join(', ');
      return { ...p, schedule: when, retention: keep, groups: (p.groups as string[]).join(',') || '-' };
    }), ['name', 'schedule', 'retention', 'groups', 'id']));
  });
  policies.command('show <policy>').option('--json').action(async (policy: string, o: { json?: boolean }) => {
    const p = await api().get<Row>(`/policies/${seg(policy)}`);
    if (o.json) { json(p); return; }
    out(`name    ${p.name}\nid      ${p.id}\ngroups  ${(p.groups as string[]).join(', ') || '-'}\nspec    ${JSON.stringify(p.spec, null, 2).replace(/\n/g, '\n        ')}`);
  });
  policies.command('edit <policy>').description('replace a policy\'s spec (applies retroactively) and / or rename it')
    .option('--file <policy.json>').option('--name <name>', 'new name').option('--json')
    .action(async (policy: string, o: { file?: string; name?: string; json?: boolean }) => {
      if (!o.file && !o.name) throw new StrataError('NOTHING_TO_CHANGE', 'nothing to change: give --file and / or --name', 'invalid');
      const p = await api().request<Row>('PATCH', `/policies/${seg(policy)}`, { ...(o.file ? { spec: readPolicyFile(o.file) } : {}), ...(o.name ? { name: o.name } : {}) });
      if (o.json) json(p);
      else out(`online policy ${p.name} updated`);
    });
  policies.command('delete <policy>').description('delete a policy no group uses').action(async (policy: string) => {
    await api().delete(`/policies/${seg(policy)}`);
    out(`online policy ${policy} deleted`);
  });
}
