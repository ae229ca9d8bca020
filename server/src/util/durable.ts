/**
 * Durable whole-file writes — the one helper every module uses when it
 * replaces a file as a whole (manifests, index files, ref lists).
 *
 * Contract: when `writeFileDurable` resolves, `path` holds exactly `data`
 * and survives a crash or power loss; until then `path` holds its previous
 * content (or does not exist). Readers never see a partially written file.
 * Ordering: write temp file in the same directory → fsync it → rename over
 * `path` → fsync the directory (so the rename itself is durable).
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import * as path from 'node:path';

/** fsync a directory so that entries created, renamed or removed in it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Temp file name used for `target`; never matches a name the caller uses. */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
}

/** True for names produced by {@link tempPathFor} (left over after a crash; safe to delete). */
export function isTempName(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}

/** Write all of `buf` at file position `pos`, looping over short writes. */
export async function writeAll(fh: fsp.FileHandle, buf: Uint8Array, pos: number): Promise<void> {
  let done = 0;
  while (done < buf.byteLength) {
    const { bytesWritten } = await fh.write(buf, done, buf.byteLength - done, pos + done);
    if (bytesWritten <= 0) throw new Error(`short write to file at ${pos + done}`);
    done += bytesWritten;
  }
}

/**
 * Write `data` to `target` atomically and durably (temp + fsync + rename + dir fsync).
 * `data` may be one buffer or several pieces written in order.
 */
export async function writeFileDurable(target: string, data: Uint8Array | string | readonly Uint8Array[], mode = 0o640): Promise<void> {
  const tmp = tempPathFor(target);
  // The mode is set at creation, so a secret is never readable by others, even briefly.
  const fh = await fsp.open(tmp, 'wx', mode);
  if (typeof data === 'string') data = Buffer.from(data);
  try {
    try {
      const pieces = data instanceof Uint8Array ? [data] : data;
      let pos = 0;
      for (const piece of pieces) {
        await writeAll(fh, piece, pos);
        pos += piece.byteLength;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, target);
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await fsyncDir(path.dirname(target));
}

/** Durably move an already fsync'd file `from` to `to` (same file system), then fsync the directory. */
export async function renameDurable(from: string, to: string): Promise<void> {
  await fsp.rename(from, to);
  await fsyncDir(path.dirname(to));
  if (path.dirname(from) !== path.dirname(to)) await fsyncDir(path.dirname(from));
}

/** Remove a file (missing is fine) and make the removal durable. */
export async function unlinkDurable(target: string): Promise<void> {
  await fsp.rm(target, { force: true });
  await fsyncDir(path.dirname(target));
}
