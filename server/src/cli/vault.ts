/**
 * `strata vault …`: the cloud tier (docs/vault-service.md). Thin wrappers
 * over /vaults and /vault-points. Secrets never go on the command line: the
 * passphrase comes from --passphrase-file or STRATA_VAULT_PASSPHRASE, cloud
 * keys from a file or an environment variable, or a whole target from a
 * JSON file (--target-file, --secondary-file).
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import { StrataError } from '../errors.js';
import { ApiClient, type ClientOptions } from './client.js';
import { bytes, table } from './format.js';
import { finishJob } from './wait.js';

type Row = Record<string, unknown>;
const out = (s: string) => process.stdout.write(s + '\n');
const json = (v: unknown) => out(JSON.stringify(v, null, 2));
const seg = (s: string) => encodeURIComponent(s);
const usage = (m: string) => new StrataError('USAGE', m, 'invalid');

function readSecretFile(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    throw usage(`cannot read the ${what} file ${file}: ${(e as Error).message}`);
  }
}

function readJsonFile(file: string, what: string): Row {
  const text = readSecretFile(file, what);
  try {
    return JSON.parse(text) as Row;
  } catch (e) {
    throw usage(`${what} file ${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/** A secret from --x-file, else an environment variable; undefined when neither is given. */
function secret(file: string | undefined, env: string[], what: string): string | undefined {
  if (file) return readSecretFile(file, what);
  for (const e of env) if (process.env[e]) return process.env[e];
  return undefined;
}

export function passphraseFrom(file: string | undefined): string {
  const p = secret(file, ['STRATA_VAULT_PASSPHRASE'], 'passphrase');
  if (p === undefined) throw usage('the vault passphrase is required: --passphrase-file FILE or STRATA_VAULT_PASSPHRASE (at least 16 characters; keep it safe, it is not stored)');
  return p;
}

interface TargetOpts {
  kind?: string; path?: string; targetFile?: string; secondaryFile?: string;
  container?: string; connectionStringFile?: string; accountUrl?: string; accountKeyFile?: string; sasTokenFile?: string; createContainer?: boolean;
  bucket?: string; region?: string; endpoint?: string; pathStyle?: boolean; accessKeyId?: string; secretAccessKeyFile?: string; createBucket?: boolean;
  redundancy?: string; softDeleteDays?: string; immutable?: boolean; passphraseFile?: string; json?: boolean;
}

function targetFrom(o: TargetOpts): Row | undefined {
  if (o.targetFile) return readJsonFile(o.targetFile, 'target');
  const kind = o.kind ?? 'local';
  const def = (r: Row) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined));
  switch (kind) {
    case 'local':
      return o.path ? { kind, path: o.path } : undefined;
    case 'azure': {
      const connectionString = o.accountUrl ? undefined : secret(o.connectionStringFile, ['STRATA_AZURE_CONNECTION_STRING', 'AZURE_STORAGE_CONNECTION_STRING'], 'connection string');
      return def({
        kind, container: o.container, connectionString, accountUrl: o.accountUrl,
        accountKey: o.accountUrl ? secret(o.accountKeyFile, ['STRATA_AZURE_ACCOUNT_KEY'], 'account key') : undefined,
        sasToken: o.accountUrl ? secret(o.sasTokenFile, ['STRATA_AZURE_SAS_TOKEN'], 'SAS token') : undefined,
        createContainer: o.createContainer || undefined,
      });
    }
    case 's3':
      return def({
        kind, bucket: o.bucket, region: o.region ?? 'us-east-1', endpoint: o.endpoint, forcePathStyle: o.pathStyle || undefined,
        accessKeyId: o.accessKeyId ?? process.env.AWS_ACCESS_KEY_ID,
        secretAccessKey: secret(o.secretAccessKeyFile, ['STRATA_S3_SECRET_ACCESS_KEY', 'AWS_SECRET_ACCESS_KEY'], 'secret access key'),
        createBucket: o.createBucket || undefined,
      });
    default:
      throw usage(`--kind must be local, azure or s3 (got ${kind})`);
  }
}

function vaultBody(name: string, o: TargetOpts): Row {
  const b: Row = { name, passphrase: passphraseFrom(o.passphraseFile) };
  const target = targetFrom(o);
  if (target) b.target = target;
  if (o.secondaryFile) b.secondary = readJsonFile(o.secondaryFile, 'secondary target');
  if (o.redundancy) b.redundancy = o.redundancy.toUpperCase();
  if (o.softDeleteDays !== undefined) b.softDeleteDays = /^\d+$/.test(o.softDeleteDays) ? Number(o.softDeleteDays) : o.softDeleteDays;
  if (o.immutable) b.immutable = true;
  return b;
}

function where(t: Row | null | undefined): string {
  if (!t) return '-';
  const c = t as Row;
  if (t.kind === 'local') return String((c.config as Row | undefined)?.path ?? c.path);
  const cfg = (c.config as Row | undefined) ?? c;
  return t.kind === 'azure' ? `azure:${cfg.accountUrl ?? cfg.accountName ?? '(connection string)'}/${cfg.container}` : `s3:${cfg.endpoint ? `${cfg.endpoint}/` : ''}${cfg.bucket}`;
}

function showVault(v: Row) {
  out(`name           ${v.name}`);
  out(`id             ${v.id}`);
  out(`vault id       ${v.vaultUid ?? '-'}`);
  out(`state          ${v.state}`);
  out(`primary        ${v.kind} ${where({ kind: v.kind, config: v.config })}`);
  out(`secondary      ${v.secondary ? `${(v.secondary as Row).kind} ${where(v.secondary as Row)}` : '-'}`);
  out(`redundancy     ${v.redundancy}`);
  out(`soft delete    ${v.softDeleteDays ? `${v.softDeleteDays} days` : 'off'}`);
  out(`immutable      ${v.immutable ? 'yes' : 'no'}`);
  if (v.points !== undefined) out(`points         ${v.points} (${v.deletedPoints} soft-deleted)`);
}

/** A verify job's report, per target; the damage listed (the first 100 per target). */
function showVerify(r: Row | null | undefined) {
  if (!r || !r.targets) return;
  for (const t of Object.values(r.targets as Record<string, Row>)) {
    out(`${String(t.target).padEnd(10)} ${t.where}: ${t.packs} packs, ${t.chunks} chunks, ${t.points} points, ${t.damagedObjects ? `${t.damagedObjects} damaged objects` : 'no damage'}`);
    for (const d of (t.damaged as Row[]) ?? []) out(`  damaged  ${d.key}${d.chunk ? ` chunk ${d.chunk}` : ''}: ${d.reason}`);
  }
}

/** The options that describe a target and its protections, shared by create and attach. */
function targetOptions(c: Command): Command {
  return c
    .option('--kind <kind>', 'local, azure or s3 (default local)')
    .option('--path <dir>', 'local: absolute folder on the server (create: default <data dir>/vault/<name>)')
    .option('--target-file <file.json>', 'the whole primary target as JSON {kind, …} (see docs/vault-backends.md)')
    .option('--container <name>', 'azure: the container')
    .option('--connection-string-file <file>', 'azure: file holding the connection string (or STRATA_AZURE_CONNECTION_STRING)')
    .option('--account-url <url>', 'azure: https://<account>.blob.core.windows.net, with an account key or SAS token')
    .option('--account-key-file <file>', 'azure: file holding the account key (or STRATA_AZURE_ACCOUNT_KEY)')
    .option('--sas-token-file <file>', 'azure: file holding a SAS token (or STRATA_AZURE_SAS_TOKEN)')
    .option('--create-container', 'azure: create the container if missing')
    .option('--bucket <name>', 's3: the bucket')
    .option('--region <region>', 's3: the region (default us-east-1)')
    .option('--endpoint <url>', 's3: an S3-compatible endpoint (omit for AWS)')
    .option('--path-style', 's3: path-style URLs (most S3-compatible servers)')
    .option('--access-key-id <id>', 's3: access key id (or AWS_ACCESS_KEY_ID)')
    .option('--secret-access-key-file <file>', 's3: file holding the secret key (or STRATA_S3_SECRET_ACCESS_KEY / AWS_SECRET_ACCESS_KEY)')
    .option('--create-bucket', 's3: create the bucket if missing')
    .option('--secondary-file <file.json>', 'a secondary target as JSON {kind, …}: every pack and index is written to both')
    .option('--redundancy <r>', 'LRS (one target), ZRS or GRS (default GRS with a secondary)')
    .option('--soft-delete-days <n>', 'days a deleted online point is kept and can be undeleted (default 14; 0 = off)')
    .option('--immutable', 'refuse deleting online points and shortening retention (cannot be undone)')
    .option('--passphrase-file <file>', 'file holding the passphrase (or STRATA_VAULT_PASSPHRASE); at least 16 characters')
    .option('--json');
}

export function vaultCommands(program: Command) {
  const api = () => ApiClient.fromOptions(program.opts<ClientOptions>());
  // `strata vaults …` is the same group (it once was a separate, shorter one).
  const vault = program.command('vault').alias('vaults').description('the cloud vault: targets, redundancy, soft delete, disaster recovery, verify');

  targetOptions(vault.command('create <name>').description('create a vault on empty target(s); creates DefaultPolicy if missing'))
    .action(async (name: string, o: TargetOpts) => {
      const v = await api().post<Row>('/vaults', vaultBody(name, o));
      if (o.json) { json(v); return; }
      const dp = v.defaultPolicy as Row;
      out(`vault ${v.name} created (${v.redundancy}, vault id ${v.vaultUid})${dp.created ? `; online policy ${dp.name} created` : ''}`);
      out('Keep the passphrase safe: with the vault\'s credentials it is all a new server needs to restore (strata vault attach).');
    });

  targetOptions(vault.command('attach <name>').description('disaster recovery: attach an existing vault and list its recovery points in the catalog'))
    .action(async (name: string, o: TargetOpts) => {
      const v = await api().post<Row>('/vaults/attach', vaultBody(name, o));
      if (o.json) { json(v); return; }
      const i = v.imported as Row;
      out(`vault ${v.name} attached (vault id ${v.vaultUid}): ${i.points} recovery points recorded, ${i.agentsCreated} agents and ${i.dataSourcesCreated} data sources recreated`);
      for (const f of (i.failed as Row[]) ?? []) out(`  not readable: ${f.pointId}: ${f.error}`);
    });

  vault.command('list').option('--json').action(async (o: { json?: boolean }) => {
    const list = await api().get<Row[]>('/vaults');
    if (o.json) { json(list); return; }
    out(table(list.map((v) => ({ ...v, primary: `${v.kind} ${where({ kind: v.kind, config: v.config })}`, secondary: v.secondary ? where(v.secondary as Row) : '-', soft: v.softDeleteDays ? `${v.softDeleteDays}d` : 'off', immutable: v.immutable ? 'yes' : 'no' })),
      ['name', 'state', 'redundancy', 'primary', 'secondary', 'soft', 'immutable', 'points', 'id']));
  });

  vault.command('show <vault>').option('--json').action(async (ref: string, o: { json?: boolean }) => {
    const v = await api().get<Row>(`/vaults/${seg(ref)}`);
    if (o.json) json(v);
    else showVault(v);
  });

  vault.command('update <vault>').description('change soft-delete days, or turn immutability on (it cannot be turned off)')
    .option('--soft-delete-days <n>', 'days a deleted online point is kept (0 = off)')
    .option('--immutable', 'refuse deleting online points and shortening retention from now on')
    .option('--json')
    .action(async (ref: string, o: { softDeleteDays?: string; immutable?: boolean; json?: boolean }) => {
      const b: Row = {};
      if (o.softDeleteDays !== undefined) b.softDeleteDays = /^\d+$/.test(o.softDeleteDays) ? Number(o.softDeleteDays) : o.softDeleteDays;
      if (o.immutable) b.immutable = true;
      if (!Object.keys(b).length) throw usage('nothing to change: give --soft-delete-days and / or --immutable');
      const v = await api().request<Row>('PATCH', `/vaults/${seg(ref)}`, b);
      if (o.json) json(v);
      else showVault(v);
    });

  vault.command('points <vault>').description('online recovery points in a vault')
    .option('--deleted', 'only soft-deleted points').option('--all', 'live and soft-deleted points').option('--json')
    .action(async (ref: string, o: { deleted?: boolean; all?: boolean; json?: boolean }) => {
      const state = o.all ? 'all' : o.deleted ? 'deleted' : 'live';
      const list = await api().get<Row[]>(`/vaults/${seg(ref)}/points?state=${state}`);
      if (o.json) { json(list); return; }
      out(table(list.map((r) => {
        const p = (r.point as Row | null) ?? {};
        return { id: r.pointId, created: p.createdAt ?? '-', uploaded: r.uploadedAt, source: p.dataSourceId ?? '-', location: p.location ?? '-', chunks: r.chunks, sent: bytes(Number(r.bytesSent)), deleted: r.deletedAt ? `purge after ${r.purgeAfter}` : '-' };
      }), ['id', 'created', 'uploaded', 'location', 'chunks', 'sent', 'deleted']));
    });

  vault.command('upload <vault> <point>').description('back up now: send a recovery point on the server\'s disk to the vault (an upload job)')
    .option('--wait', 'wait for the job and show progress').option('--json')
    .action(async (ref: string, point: string, o: { wait?: boolean; json?: boolean }) => {
      const c = api();
      await finishJob(c, await c.post<Row>(`/vaults/${seg(ref)}/uploads`, { point }), o);
    });

  vault.command('prune <vault>').description('a prune job now (the daily GC does it too): remove deleted points\' data, rewrite packs below the live share, delete dead packs')
    .option('--rewrite-below <share>', 'rewrite packs whose live share is below this (0..1; default 0.5)')
    .option('--json')
    .action(async (ref: string, o: { rewriteBelow?: string; json?: boolean }) => {
      const c = api();
      const b = o.rewriteBelow !== undefined ? { rewriteBelow: Number(o.rewriteBelow) } : {};
      await finishJob(c, await c.post<Row>(`/vaults/${seg(ref)}/prune`, b), { wait: true, json: o.json }, undefined, (done) => {
        const r = (done.result ?? {}) as Row;
        return `vault ${ref} pruned: ${(r.pointIds as unknown[] | undefined)?.length ?? 0} points removed, ${r.packsDeleted ?? 0} packs deleted, ${r.packsRewritten ?? 0} rewritten, ${bytes(Number(r.bytesFreed ?? 0))} freed${r.postponed ? ' (pack work postponed: a restore or verify is reading the vault)' : ''}`;
      });
    });

  vault.command('verify <vault>').description('a verify job: re-read every index, pack and point on each target (primary and secondary separately)')
    .option('--read-data', 'read and check every chunk (the default)')
    .option('--quick', 'check only indexes, pack sizes and points (no chunk is read)')
    .option('--wait', 'wait for the job and show what is damaged').option('--json')
    .action(async (ref: string, o: { readData?: boolean; quick?: boolean; wait?: boolean; json?: boolean }) => {
      if (o.readData && o.quick) throw usage('--read-data and --quick exclude each other');
      const c = api();
      const job = await c.post<Row>(`/vaults/${seg(ref)}/verify`, { readData: !o.quick });
      try {
        await finishJob(c, job, o, async (j) => {
          if (!o.json) showVerify(j.result as Row);
          return {};
        });
      } catch (err) {
        // A damaged vault fails the job: list the damage, then exit 1 with the job's message.
        if (o.wait && !o.json && err instanceof StrataError && err.code === 'JOB_FAILED') showVerify((await c.get<Row>(`/jobs/${seg(String(job.id))}`)).result as Row);
        throw err;
      }
    });

  vault.command('delete-point <point>').description('delete an online recovery point (soft delete: kept N days, undeletable)').option('--json')
    .action(async (point: string, o: { json?: boolean }) => {
      const r = await api().delete<Row>(`/vault-points/${seg(point)}`);
      if (o.json) json(r);
      else out(r.purged ? `online recovery point ${point} purged (soft delete is off)` : `online recovery point ${point} deleted; it can be undeleted until ${r.purgeAfter}`);
    });

  vault.command('undelete-point <point>').description('bring back a soft-deleted online recovery point')
    .option('--vault <vault>', 'the vault (default: the point\'s)').option('--json')
    .action(async (point: string, o: { vault?: string; json?: boolean }) => {
      const v = o.vault ?? String((await api().get<Row>(`/points/${seg(point)}`)).vaultId ?? '');
      if (!v) throw new StrataError('NOT_FOUND', `recovery point ${point} has no online copy`, 'not-found');
      const r = await api().post<Row>(`/vaults/${seg(v)}/points/${seg(point)}/undelete`);
      if (o.json) json(r);
      else out(`online recovery point ${point} undeleted`);
    });
}
