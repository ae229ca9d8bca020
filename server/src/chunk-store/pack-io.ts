/** Thin promise wrappers over fd-based fs calls used by pack reading and writing. */
import * as fs from 'node:fs';
import { promisify } from 'node:util';

const writeP = promisify(fs.write);
const readP = promisify(fs.read);
export const openFd = promisify(fs.open) as (path: string, flags: string, mode?: number) => Promise<number>;
export const closeFd = promisify(fs.close);
export const fdatasyncFd = promisify(fs.fdatasync);
export const fstatFd = promisify(fs.fstat) as (fd: number) => Promise<fs.Stats>;

/** Positioned write of the whole buffer, looping over short writes. */
export async function writeFully(fd: number, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten: n } = await writeP(fd, buf, done, buf.length - done, position + done);
    if (n <= 0) throw new Error('short write');
    done += n;
  }
}

/** Positioned read; returns fewer bytes only at end of file. */
export async function readFully(fd: number, buf: Buffer, position: number): Promise<number> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await readP(fd, buf, done, buf.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}
