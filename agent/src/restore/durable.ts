/**
 * How a restore becomes durable. Thousands of per-file fsyncs each wait for
 * the disk and hold a libuv thread meanwhile, stalling the reads and writes
 * queued behind them; one syncfs(2) per file system written to, at the end,
 * flushes the same data in one pass (the kernel writes it back in bulk). Node
 * has no syncfs, so it runs coreutils `sync -f` (GNU coreutils ≥ 8.24) on a
 * descriptor of the folder passed as the child's stdin (`/dev/stdin`): any
 * path bytes work, and no symlink is followed. Where that is unavailable
 * (probed once at the start by syncing the target), the restorer falls back to
 * fsyncing every file and folder as it finishes them.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { showPath } from '../util/bytes.js';
import { AgentError } from '../util/errors.js';

/** Flushes the whole file system holding folder `dir`; throws if that fails. */
export type SyncFs = (dir: Buffer) => Promise<void>;

const DIR_OPEN = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

export const coreutilsSyncFs: SyncFs = async (dir) => {
  const fh = await open(dir, DIR_OPEN);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('sync', ['-f', '/dev/stdin'], { stdio: [fh.fd, 'ignore', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`sync -f exited with ${code}: ${err.trim()}`))));
    });
  } finally {
    await fh.close();
  }
};

/**
 * The file systems a restore wrote to (one folder of each, by device), to be
 * synced at the end. New folders are on their parent's file system; only
 * folders that already existed (possible mount points) need to be noted.
 */
export class Durability {
  private readonly dirs = new Map<bigint, Buffer>();

  private constructor(private readonly syncFs: SyncFs | null) {}

  /** Probes `syncFs` on the target: per-file fsync (perFile) if it is null or fails there. */
  static async start(target: Buffer, syncFs: SyncFs | null): Promise<Durability> {
    if (syncFs) {
      try {
        await syncFs(target);
        const d = new Durability(syncFs);
        await d.note(target);
        return d;
      } catch { /* not available here: fall back to fsync per file */ }
    }
    return new Durability(null);
  }

  /** True when every file and folder must be fsynced as it is finished. */
  get perFile(): boolean {
    return this.syncFs === null;
  }

  /** Records the file system of an existing folder that the restore writes into. */
  async note(dir: Buffer): Promise<void> {
    if (this.perFile) return;
    const st = await lstat(dir, { bigint: true }).catch(() => null);
    if (st?.isDirectory() && !this.dirs.has(st.dev)) this.dirs.set(st.dev, dir);
  }

  /** Syncs every file system noted; a failure means the restored data may not be on disk. */
  async finish(): Promise<void> {
    if (!this.syncFs) return;
    for (const dir of this.dirs.values()) {
      try {
        await this.syncFs(dir);
      } catch (e) {
        throw new AgentError('TARGET_INVALID', `restored data under ${showPath(dir)} could not be made durable: ${(e as Error).message}`, { cause: e });
      }
    }
  }
}
