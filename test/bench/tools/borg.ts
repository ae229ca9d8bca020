/**
 * borg 1.x against a local repository (no transport), `--encryption none`
 * (Strata does not encrypt its short-term store either), `--compression
 * zstd,1`, default chunker. "sent" is the growth of the repository on disk
 * during the backup: what a remote repository would have received. (borg's own
 * `deduplicated_size` is logged as a detail.)
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../measure.js';
import { dirBytes } from '../tree.js';
import { ensureCommands } from './install.js';
import type { PhaseSample, ToolRunner, ToolSession } from './tool.js';

interface CreateJson { archive?: { stats?: { deduplicated_size?: number; nfiles?: number } } }

export const borg: ToolRunner = {
  name: 'borg',
  settings: 'borg: local repo, --encryption none, --compression zstd,1, default chunker (2 MiB average)',
  sentMeaning: 'bytes added to the repository on disk by that backup (no transport: local repo)',
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
        const before = await dirBytes(repo);
        const r = await run('borg', ['create', '--json', '--compression', 'zstd,1', `${repo}::b${++n}`, source], { env });
        const stats = (JSON.parse(r.stdout) as CreateJson).archive?.stats;
        const detail = `borg deduplicated_size ${String(stats?.deduplicated_size)}, nfiles ${String(stats?.nfiles)}`;
        return { wallS: r.wallS, sentBytes: (await dirBytes(repo)) - before, rssAgentKiB: r.peakRssKiB, rssServerKiB: null, detail };
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
