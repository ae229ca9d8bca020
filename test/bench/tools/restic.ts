/**
 * restic against a local repository (no transport). restic always encrypts
 * (AES-256-CTR + Poly1305); `--compression auto` is zstd at the default level
 * of klauspost/compress; repository format 2. "sent" is restic's own
 * `data_added` from the backup summary: bytes of new blobs added to the repo.
 */
import { join } from 'node:path';
import { run } from '../measure.js';
import { dirBytes } from '../tree.js';
import { ensureCommands } from './install.js';
import type { PhaseSample, ToolRunner, ToolSession } from './tool.js';

export const restic: ToolRunner = {
  name: 'restic',
  settings: 'restic: local repo, format v2, --compression auto (zstd default level), encryption always on, own cache dir',
  sentMeaning: 'restic: data_added from `restic backup --json` (new blob bytes added to the repo)',
  prepare: () => ensureCommands(['restic', 'borg'], ['restic', 'borgbackup']),
  async open(workDir, source) {
    const repo = join(workDir, 'restic-repo');
    const env = { ...process.env, RESTIC_PASSWORD: 'strata-bench', RESTIC_REPOSITORY: repo, RESTIC_CACHE_DIR: join(workDir, 'restic-cache') };
    const restic = (...args: string[]): ReturnType<typeof run> => run('restic', ['--quiet', ...args], { env });
    await restic('init', '--repository-version', '2');
    const session: ToolSession = {
      async backup(): Promise<PhaseSample> {
        const r = await run('restic', ['backup', '--json', '--compression', 'auto', source], { env });
        const summary = r.stdout.split('\n').filter((l) => l.includes('"summary"')).map((l) => JSON.parse(l) as { data_added?: number }).pop();
        return { wallS: r.wallS, sentBytes: summary?.data_added ?? null, rssAgentKiB: r.peakRssKiB, rssServerKiB: null };
      },
      async restore(target): Promise<PhaseSample> {
        const r = await restic('restore', 'latest', '--target', target);
        return { wallS: r.wallS, sentBytes: null, rssAgentKiB: r.peakRssKiB, rssServerKiB: null };
      },
      storeBytes: () => dirBytes(repo),
      async close() {},
    };
    return session;
  },
};
