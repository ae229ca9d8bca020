/**
 * `npm run bench -- [--size 2G] [--runs 1] [--tools strata,restic,borg] [--keep] [--dir PATH] [--seed S]`
 *
 * For each run and each tool: generate the seeded dataset (identical bytes for
 * every tool), then full backup → unchanged re-run → the 1% change → backup →
 * full restore, verified byte for byte against the source. Prints one table
 * (medians over runs) on stdout, progress on stderr, and writes results.json
 * into --dir. See docs/benchmarks.md.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { applyChange, type ChangeReport } from './change.js';
import { generateDataset } from './dataset.js';
import { GNU_TIME } from './measure.js';
import { renderTable, type Phase, type PhaseMetrics, type ToolResult } from './table.js';
import { borg } from './tools/borg.js';
import { ensureCommands } from './tools/install.js';
import { restic } from './tools/restic.js';
import { strata } from './tools/strata.js';
import type { PhaseSample, ToolName, ToolRunner } from './tools/tool.js';
import { compareManifests, manifest, manifestDigest } from './tree.js';

const RUNNERS: Record<ToolName, ToolRunner> = { strata, restic, borg };

const { values: opt } = parseArgs({
  options: {
    size: { type: 'string', default: '2G' },
    runs: { type: 'string', default: '1' },
    tools: { type: 'string', default: 'strata,restic,borg' },
    keep: { type: 'boolean', default: false },
    dir: { type: 'string', default: join(tmpdir(), 'strata-bench') },
    seed: { type: 'string', default: 'strata-bench-1' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(s.trim());
  if (!m) throw new Error(`--size: cannot parse "${s}" (try 512M, 2G, 2GiB)`);
  return Math.floor(Number(m[1]) * 1024 ** ' KMGT'.indexOf((m[2] || ' ').toUpperCase()));
}

const log = (msg: string): void => void process.stderr.write(`bench: ${msg}\n`);
const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

async function main(): Promise<void> {
  if (opt.help) {
    console.log('npm run bench -- [--size 2G] [--runs 1] [--tools strata,restic,borg] [--keep] [--dir PATH] [--seed S]');
    return;
  }
  const size = parseSize(opt.size);
  const runs = Math.max(1, Number.parseInt(opt.runs, 10) || 1);
  const names = opt.tools.split(',').map((t) => t.trim()).filter(Boolean);
  const bad = names.filter((n) => !(n in RUNNERS));
  if (bad.length || !names.length) throw new Error(`--tools: unknown ${bad.join(', ')} (choose from ${Object.keys(RUNNERS).join(', ')})`);
  const dir = resolve(opt.dir);
  const dataDir = join(dir, 'data');
  await mkdir(dir, { recursive: true });
  if (!existsSync(GNU_TIME)) await ensureCommands(['time'], ['time']).catch((e: Error) => log(`no ${GNU_TIME} (${e.message}); polling VmHWM instead`));

  const results: ToolResult[] = names.map((n) => ({ tool: n as ToolName, runs: [], failures: [] }));
  const ready = new Set<ToolName>();
  for (const r of results) {
    try {
      await RUNNERS[r.tool].prepare();
      ready.add(r.tool);
    } catch (e) {
      r.failures.push((e as Error).message);
      log(`${r.tool}: ${(e as Error).message}`);
    }
  }

  const digests = new Set<string>();
  let change: ChangeReport | undefined;
  let datasetInfo = '';
  for (let i = 1; i <= runs; i++) {
    for (const r of results.filter((x) => ready.has(x.tool))) {
      const tag = `[run ${i}/${runs}] ${r.tool}`;
      const t0 = Date.now();
      const ds = await generateDataset(dataDir, size, opt.seed);
      const digest = manifestDigest(await manifest(dataDir));
      digests.add(digest);
      datasetInfo = `${mb(ds.bytes)} in ${ds.files.length} files (seed "${opt.seed}", digest ${digest})`;
      log(`${tag}: dataset ${datasetInfo}, generated and hashed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      const workDir = join(dir, r.tool);
      await rm(workDir, { recursive: true, force: true });
      await mkdir(workDir, { recursive: true });
      try {
        const before = ds.bytes;
        const session = await RUNNERS[r.tool].open(workDir, dataDir);
        try {
          const phase = async (name: Phase, sample: PhaseSample, bytes: number): Promise<PhaseMetrics> => {
            const storeBytes = await session.storeBytes();
            log(`${tag}: ${name}: ${sample.wallS.toFixed(2)} s, sent ${sample.sentBytes === null ? '?' : mb(sample.sentBytes)}, store ${mb(storeBytes)}`);
            return { ...sample, mbps: bytes / 1e6 / sample.wallS, storeBytes, sentPerChanged: null, growthPerChanged: null };
          };
          const full = await phase('full', await session.backup(), before);
          const unchanged = await phase('unchanged', await session.backup(), before);
          change = await applyChange(ds);
          log(`${tag}: 1% change: ${change.changedBytes} bytes changed (${change.overwrites} overwrites, ${change.insertedBytes} B inserted, ${change.newFiles} new, ${change.deletedFiles} deleted files)`);
          const incr = await phase('1% change', await session.backup(), ds.bytes);
          incr.sentPerChanged = incr.sentBytes === null ? null : incr.sentBytes / change.changedBytes;
          incr.growthPerChanged = (incr.storeBytes - unchanged.storeBytes) / change.changedBytes;
          const expected = await manifest(dataDir);
          const target = join(workDir, 'restore');
          const restore = await phase('restore', await session.restore(target), ds.bytes);
          const diffs = compareManifests(expected, await manifest(join(target, dataDir.replace(/^\/+/, ''))));
          if (diffs.length) {
            r.failures.push(`run ${i}: restore differs from the source: ${diffs.join('; ')}`);
            log(`${tag}: RESTORE DIFFERS: ${diffs.join('; ')}`);
          } else log(`${tag}: restore verified (${expected.size} files identical)`);
          r.runs.push({ full, unchanged, '1% change': incr, restore });
        } finally {
          await session.close();
        }
      } catch (e) {
        r.failures.push(`run ${i}: ${(e as Error).message}`);
        log(`${tag}: FAILED: ${(e as Error).message}`);
      }
      if (!opt.keep) await rm(workDir, { recursive: true, force: true });
    }
  }
  if (!opt.keep) await rm(dataDir, { recursive: true, force: true });

  const notes = [
    `Dataset: ${datasetInfo || 'not generated'}; ${runs} run(s), medians shown; ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM.`,
    digests.size > 1 ? `WARNING: the generated datasets differed between tools (${[...digests].join(', ')})!` : '',
    change ? `1% change: ${change.changedBytes} bytes changed = ${change.overwriteDiffBytes} differing bytes in ${change.overwrites} overwrites of 4–64 KiB + ${change.insertedBytes} inserted into ${change.insertedInto} + ${change.newFileBytes} in ${change.newFiles} new files; ${change.deletedFiles} files deleted (${change.deletedBytes} bytes, not counted).` : '',
    'Ratios in parentheses: value ÷ best of restic and borg (lower is better, except MB/s). MB = 10^6 bytes; MB/s = source (or restored) bytes ÷ wall time.',
    ...names.map((n) => `${RUNNERS[n as ToolName].settings}. Sent = ${RUNNERS[n as ToolName].sentMeaning}.`),
    'Peak RSS: restic/borg = peak of their process in that phase; Strata agent/server = VmHWM since daemon start (cannot be reset). All tools see the same warm page cache.',
    ...results.flatMap((r) => r.failures.map((f) => `${r.tool} FAILED: ${f}`)),
  ].filter(Boolean);
  console.log(`${renderTable(results)}\n\n${notes.map((n) => `- ${n}`).join('\n')}`);
  await writeFile(join(dir, 'results.json'), JSON.stringify({ size, runs, seed: opt.seed, change, results }, null, 2));
  process.exitCode = results.some((r) => r.failures.length) ? 1 : 0;
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 2;
});
