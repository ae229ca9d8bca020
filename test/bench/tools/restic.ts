/**
 * restic against a local repository (no transport). restic always encrypts
 * (AES-256-CTR + Poly1305); `--compression auto` is zstd at the default level
 * of klauspost/compress; repository format 2. "sent" is the growth of the
 * repository on disk during the backup: what a remote repository would have
 * received. (restic 0.14's own `data_added` counts blobs before compression; it
 * is logged as a detail.)
 */
import { join } from 'node:path';
import { run } from '../measure.js';
import { dirBytes } from '../tree.js';
import { ensureCommands } from './install.js';
import type { PhaseSample, ToolRunner, ToolSession } from './tool.js';

export const restic: ToolRunner = {
  name: 'restic',
  settings: 'restic: local repo, format v2, --compression auto (zstd default level), encryption always on, own cache dir',
  sentMeaning: 'bytes added to the repository on disk by that backup (no transport: local repo)',
  prepare: () => ensureCommands(['restic', 'borg'], ['restic', 'borgbackup']),
  async open(workDir, source) {
    const repo = join(workDir, 'restic-repo');
    const env = { ...process.env, RESTIC_PASSWORD: 'strata-bench', RESTIC_REPOSITORY: repo, RESTIC_CACHE_DIR: join(workDir, 'restic-cache') };
    const restic = (...args: string[]): ReturnType<typeof run> => run('restic', ['--quiet', ...args], { env });
    await restic('init', '--repository-version', '2');
    const session: ToolSession = {
      async backup(): Promise<PhaseSample> {
        const before = await dirBytes(repo);
        const r = await run('restic', ['backup', '--json', '--compression', 'auto', source], { env });
        const summary = r.stdout.split('\n').filter((l) => l.includes('"summary"')).map((l) => JSON.parse(l) as Record<string, unknown>).pop();
        const detail = `restic data_added ${String(summary?.data_added)} (uncompressed), files new/changed ${String(summary?.files_new)}/${String(summary?.files_changed)}`;
        return { wallS: r.wallS, sentBytes: (await dirBytes(repo)) - before, rssAgentKiB: r.peakRssKiB, rssServerKiB: null, detail };
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
