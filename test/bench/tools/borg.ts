/**
 * borg 1.x against a local repository (no transport), `--encryption none`
 * (Strata does not encrypt its short-term store either), `--compression
 * zstd,1`, default chunker. "sent" is borg's `deduplicated_size` from
 * `borg create --json`: compressed bytes of new chunks added to the repo.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../measure.js';
import { dirBytes } from '../tree.js';
import { ensureCommands } from './install.js';
import type { PhaseSample, ToolRunner, ToolSession } from './tool.js';

interface CreateJson { archive?: { stats?: { deduplicated_size?: number } } }

export const borg: ToolRunner = {
  name: 'borg',
  settings: 'borg: local repo, --encryption none, --compression zstd,1, default chunker (2 MiB average)',
  sentMeaning: 'borg: deduplicated_size from `borg create --json` (compressed new chunk bytes added to the repo)',
  prepare: () => ensureCommands(['restic', 'borg'], ['restic', 'borgbackup']),
  async open(workDir, source) {
    const repo = join(workDir, 'borg-repo');
    const env = {
      ...process.env,
      BORG_BASE_DIR: join(workDir, 'borg-home'),
      BORG_PASSPHRASE: '',
      BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes',
      BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes',
    };
    await run('borg', ['init', '--encryption', 'none', repo], { env });
    let n = 0;
    const session: ToolSession = {
      async backup(): Promise<PhaseSample> {
        const r = await run('borg', ['create', '--json', '--compression', 'zstd,1', `${repo}::b${++n}`, source], { env });
        const stats = (JSON.parse(r.stdout) as CreateJson).archive?.stats;
        return { wallS: r.wallS, sentBytes: stats?.deduplicated_size ?? null, rssAgentKiB: r.peakRssKiB, rssServerKiB: null };
      },
      async restore(target): Promise<PhaseSample> {
        await mkdir(target, { recursive: true });
        const r = await run('borg', ['extract', `${repo}::b${n}`], { env, cwd: target });
        return { wallS: r.wallS, sentBytes: null, rssAgentKiB: r.peakRssKiB, rssServerKiB: null };
      },
      storeBytes: () => dirBytes(repo),
      async close() {},
    };
    return session;
  },
};
