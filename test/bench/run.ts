/**
 * `npm run bench -- [--size 2G] [--runs 1] [--tools strata,restic,borg] [--keep] [--dir PATH] [--seed S] [--no-vault] [--vault-targets local,azurite]`
 *
 * For each run and each tool: generate the seeded dataset (identical bytes for
 * every tool), then the phases of phases.ts; for Strata then the vault tier
 * (vault.ts) on each of --vault-targets, unless --no-vault. Prints one table (medians over
 * runs) on stdout, progress on stderr, and writes results.json into --dir.
 * See docs/benchmarks.md.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ChangeReport } from './change.js';
import { generateDataset } from './dataset.js';
import { GNU_TIME } from './measure.js';
import { runPhases, type RunRecord } from './phases.js';
import { renderTable, type ToolResult } from './table.js';
import { borg } from './tools/borg.js';
import { ensureCommands } from './tools/install.js';
import { restic } from './tools/restic.js';
import { isStrataSession, strata } from './tools/strata.js';
import type { ToolName, ToolRunner } from './tools/tool.js';
import { manifest, manifestDigest } from './tree.js';
import { runVaultPhases, type VaultRecord } from './vault.js';
import { renderVaultTable } from './vault-table.js';
import { VAULT_TARGETS, type VaultTarget } from './vault-targets.js';

const RUNNERS: Record<ToolName, ToolRunner> = { strata, restic, borg };
const USAGE = 'npm run bench -- [--size 2G] [--runs 1] [--tools strata,restic,borg] [--keep] [--dir PATH] [--seed S] [--no-vault] [--vault-targets local,azurite]';

interface Options { size: number; runs: number; tools: ToolName[]; keep: boolean; dir: string; seed: string; vaultTargets: VaultTarget[] }
interface Summary { datasets: Set<string>; dataset: string; change?: ChangeReport }

const log = (msg: string): void => void process.stderr.write(`bench: ${msg}\n`);
const oneLine = (e: unknown): string => ((e as Error).message ?? String(e)).replace(/\s+/g, ' ').slice(0, 600);

function options(): Options | null {
  const { values: v } = parseArgs({
    options: {
      size: { type: 'string', default: '2G' },
      runs: { type: 'string', default: '1' },
      tools: { type: 'string', default: 'strata,restic,borg' },
      keep: { type: 'boolean', default: false },
      dir: { type: 'string', default: join(tmpdir(), 'strata-bench') },
      seed: { type: 'string', default: 'strata-bench-1' },
      'no-vault': { type: 'boolean', default: false },
      'vault-targets': { type: 'string', default: VAULT_TARGETS.join(',') },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (v.help) return null;
  const tools = v.tools.split(',').map((t) => t.trim()).filter(Boolean);
  const bad = tools.filter((n) => !(n in RUNNERS));
  if (bad.length || !tools.length) throw new Error(`--tools: unknown "${bad.join(',')}" (choose from ${Object.keys(RUNNERS).join(', ')})`);
  const runs = Number.parseInt(v.runs, 10);
  if (!(runs >= 1)) throw new Error(`--runs: expected a positive integer, got "${v.runs}"`);
  const vaultTargets = v['no-vault'] ? [] : v['vault-targets'].split(',').map((t) => t.trim()).filter(Boolean);
  const badTargets = vaultTargets.filter((t) => !(VAULT_TARGETS as readonly string[]).includes(t));
  if (badTargets.length) throw new Error(`--vault-targets: unknown "${badTargets.join(',')}" (choose from ${VAULT_TARGETS.join(', ')}; --no-vault for none)`);
  return { size: parseSize(v.size), runs, tools: tools as ToolName[], keep: v.keep, dir: resolve(v.dir), seed: v.seed, vaultTargets: vaultTargets as VaultTarget[] };
}

/** "512M", "2G", "2GiB", "1.5G", "1000000" → bytes (binary units). */
export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(s.trim());
  if (!m) throw new Error(`--size: cannot parse "${s}" (try 512M, 2G, 2GiB)`);
  return Math.floor(Number(m[1]) * 1024 ** ' KMGT'.indexOf((m[2] || ' ').toUpperCase()));
}

async function benchTool(opt: Options, r: ToolResult, runNo: number, summary: Summary): Promise<void> {
  const tag = `[run ${runNo}/${opt.runs}] ${r.tool}`;
  const t0 = Date.now();
  const dataDir = join(opt.dir, 'data');
  const ds = await generateDataset(dataDir, opt.size, opt.seed);
  const digest = manifestDigest(await manifest(dataDir));
  summary.datasets.add(digest);
  summary.dataset = `${(ds.bytes / 1e6).toFixed(1)} MB in ${ds.files.length} files (seed "${opt.seed}", content digest ${digest})`;
  log(`${tag}: dataset ${summary.dataset}, generated and hashed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const workDir = join(opt.dir, r.tool);
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  const failuresBefore = r.failures.length;
  const vaultFailuresBefore = r.vaultFailures?.length ?? 0;
  const rec: RunRecord = { phases: {} };
  try {
    const session = await RUNNERS[r.tool].open(workDir, dataDir);
    try {
      await runPhases(session, ds, workDir, (m) => log(`${tag}: ${m}`), rec);
      const diffs = rec.restoreDiffs ?? [];
      if (diffs.length) r.failures.push(`run ${runNo}: restore differs from the source: ${diffs.join('; ')}`);
      log(`${tag}: ${diffs.length ? `RESTORE DIFFERS: ${diffs.join('; ')}` : `restore verified, ${rec.restoredFiles} files identical`}`);
      if (opt.vaultTargets.length && isStrataSession(session)) {
        const vrec: VaultRecord = { run: {}, failures: [] };
        await runVaultPhases(session, ds, opt.vaultTargets, (m) => log(`${tag}: ${m}`), vrec);
        (r.vault ??= []).push(vrec.run);
        (r.vaultFailures ??= []).push(...vrec.failures.map((f) => `run ${runNo}: ${f}`));
      }
    } finally {
      await session.close();
    }
  } catch (e) {
    r.failures.push(`run ${runNo}: ${oneLine(e)}`);
    log(`${tag}: FAILED: ${oneLine(e)}`);
  }
  if (Object.keys(rec.phases).length) r.runs.push(rec.phases);
  summary.change = rec.change ?? summary.change;
  if (r.failures.length > failuresBefore || (r.vaultFailures?.length ?? 0) > vaultFailuresBefore) log(`${tag}: kept ${workDir} for inspection`);
  else if (!opt.keep) await rm(workDir, { recursive: true, force: true });
}

function notes(opt: Options, results: ToolResult[], s: Summary): string[] {
  const c = s.change;
  return [
    `Dataset: ${s.dataset || 'not generated'}; ${opt.runs} run(s), medians shown${opt.runs > 1 ? ' (run i starts with the i-th tool: the order rotates)' : ''}; ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM.`,
    s.datasets.size > 1 ? `WARNING: the generated datasets differed between tools (${[...s.datasets].join(', ')})!` : '',
    c ? `1% change: ${c.changedBytes} bytes changed = ${c.overwriteDiffBytes} differing bytes in ${c.overwrites} overwrites of 4–64 KiB + ${c.insertedBytes} inserted into ${c.insertedInto} + ${c.newFileBytes} in ${c.newFiles} new files; ${c.deletedFiles} files deleted (${c.deletedBytes} bytes, not counted).` : '',
    'In parentheses: value ÷ best of restic and borg (lower is better, except MB/s). MB = 10^6 bytes; MB/s = source (restore: restored) bytes ÷ wall time.',
    ...opt.tools.map((n) => `${RUNNERS[n].settings}; sent = ${RUNNERS[n].sentMeaning}.`),
    opt.vaultTargets.length && opt.tools.includes('strata') ? `Vault tier (second table; Strata only: restic and borg have no second tier, so no ratios): targets ${opt.vaultTargets.join(', ')}. Upload full = the full backup's point into an empty vault, upload incr = the newest point after it; MB/s = the point's source bytes ÷ wall time of \`strata vault upload --wait\`; sent = the job's bytesSent (compressed, encrypted packs and index); vault MB = du -sb of the vault folder (local) or the sum of the container's blob sizes (Azurite, on disk); store MB = the server's DATA/chunks; restore from vault = the newest point after prune (disk copy dropped) and gc, restore + sync, verified against the source.` : '',
    'Peak RSS: restic/borg = peak of their process in that phase; Strata agent/server = VmHWM since the daemon started (cannot be reset). Every tool sees the same warm page cache.',
    ...results.flatMap((r) => r.failures.map((f) => `${r.tool} FAILED: ${f}`)),
    ...results.flatMap((r) => (r.vaultFailures ?? []).map((f) => `${r.tool} vault FAILED: ${f}`)),
  ].filter(Boolean);
}

/** The bench deletes and rewrites folders in --dir: refuse a non-empty folder it did not create. */
async function claimDir(dir: string): Promise<void> {
  const marker = join(dir, '.strata-bench');
  const entries = await readdir(dir).catch((): string[] => []);
  if (entries.length && !entries.includes('.strata-bench')) throw new Error(`--dir ${dir} is not empty and was not made by the bench (no .strata-bench in it): choose another folder`);
  await mkdir(dir, { recursive: true });
  await writeFile(marker, 'work folder of npm run bench; its contents may be deleted\n');
}

/** `xs` starting at element `k mod length`. */
function rotate<T>(xs: T[], k: number): T[] {
  if (xs.length === 0) return xs;
  const at = k % xs.length;
  return [...xs.slice(at), ...xs.slice(0, at)];
}

async function main(): Promise<void> {
  const opt = options();
  if (!opt) return console.log(USAGE);
  await claimDir(opt.dir);
  if (!existsSync(GNU_TIME)) await ensureCommands(['time'], ['time']).catch((e: Error) => log(`no ${GNU_TIME} (${oneLine(e)}); polling VmHWM instead`));
  const results: ToolResult[] = opt.tools.map((tool) => ({ tool, runs: [], failures: [] }));
  const ready: ToolResult[] = [];
  for (const r of results) {
    try {
      await RUNNERS[r.tool].prepare();
      ready.push(r);
    } catch (e) {
      r.failures.push(oneLine(e));
      log(`${r.tool}: ${oneLine(e)}`);
    }
  }
  const summary: Summary = { datasets: new Set(), dataset: '' };
  // Run i starts with the i-th tool (rotation): on a shared VM what one tool leaves
  // behind (freshly freed memory, thousands of just-deleted inodes) changes the cost
  // of the next tool's writes, so with --runs N (N = number of tools) every tool
  // takes every place in the order once and the medians do not favour a fixed order.
  for (let i = 1; i <= opt.runs; i++) for (const r of rotate(ready, i - 1)) await benchTool(opt, r, i, summary);
  if (!opt.keep) await rm(join(opt.dir, 'data'), { recursive: true, force: true });
  const vaultTable = renderVaultTable(results.flatMap((r) => r.vault ?? []));
  console.log(`${renderTable(results)}${vaultTable ? `\n\n${vaultTable}` : ''}\n\n${notes(opt, results, summary).map((n) => `- ${n}`).join('\n')}`);
  await writeFile(join(opt.dir, 'results.json'), JSON.stringify({ ...opt, change: summary.change, results }, null, 2));
  process.exitCode = results.some((r) => r.failures.length || r.vaultFailures?.length) ? 1 : 0;
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${(e as Error).message ?? String(e)}\n`);
  process.exitCode = 2;
});
