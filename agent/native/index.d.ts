/** Opaque handles made by the addon (tagged: passing anything else throws a TypeError). */
export type ParamsHandle = { readonly __strataParams: unique symbol };
export type StreamHandle = { readonly __strataStream: unique symbol };

/** The chunks a block completed: their end offsets within the block and their SHA-256s (32 bytes each, in order). */
export interface NativeCuts { ends: Uint32Array; hashes: Buffer }

/** Chunker parameters and the gear table (masks as int32 bit patterns, as params.ts has them). */
export function createParams(gear: Int32Array, minSize: number, normalSize: number, maxSize: number, maskS: number, maskL: number): ParamsHandle;
/** A new stream: carries the gear state and the SHA-256 of its unfinished chunk across pushes. */
export function streamOpen(params: ParamsHandle): StreamHandle;
/** Chunks and hashes a block on libuv's thread pool; its bytes must not change until the promise settles; one push at a time. */
export function streamPush(stream: StreamHandle, block: Uint8Array): Promise<NativeCuts>;
/** The digest of the stream's unfinished last chunk, or null; resets the stream. */
export function streamFinish(stream: StreamHandle): Buffer | null;
/** Chunks and hashes one whole buffer (the last chunk included): synchronously, or on the thread pool. */
export function chunkHash(params: ParamsHandle, buf: Uint8Array, async?: false): NativeCuts;
export function chunkHash(params: ParamsHandle, buf: Uint8Array, async: true): Promise<NativeCuts>;
/** SHA-256 of each buffer, as one Buffer of 32-byte digests. */
export function sha256Many(list: readonly Uint8Array[]): Buffer;
/** SHA-256 of buf[0, ends[0]), buf[ends[0], ends[1]), …: synchronously or on the thread pool. */
export function sha256Many(buf: Uint8Array, ends: Uint32Array, async?: false): Buffer;
export function sha256Many(buf: Uint8Array, ends: Uint32Array, async: true): Promise<Buffer>;

/** A small file read whole: `n` bytes read into the region (n === region.length: it grew, no cuts), its chunks, and the fstat after reading. */
export interface NativeFileRead extends NativeCuts {
  n: number;
  /** [dev, ino, mode, nlink, uid, gid, size, mtimeNs, ctimeNs], as fs.fstat(fd, { bigint: true }) gives them. */
  st: BigInt64Array;
}
/** Why a small file could not be read: errno's name, Node's (negative) errno, the failing call, and which step ('open' or 'read'; an fstat failure is 'read'). */
export interface NativeFileError { code: string; errno: number; syscall: string; stage: 'open' | 'read'; message: string }
/** Opens (flags | noatime; again without noatime on EPERM), reads from 0 into region, fstats, closes, cuts and hashes: one trip to the thread pool. */
export function readSmall(params: ParamsHandle, path: Uint8Array, region: Uint8Array, flags: number, noatime: number): Promise<NativeFileRead | NativeFileError>;

/** lstat of each NUL-terminated path of `paths` (joined) in one thread-pool trip: ST fields (9 per path, readSmall's order) and libuv's negative errno per path (0: ok). */
export function lstatMany(paths: Uint8Array): Promise<{ st: BigInt64Array; errno: Int32Array }>;
/** glibc's mallopt(M_MMAP_THRESHOLD) and mallopt(M_TRIM_THRESHOLD); false where the C library is not glibc or refused. */
export function mallocTune(mmapThreshold: number, trimThreshold: number): boolean;
/** glibc's malloc_trim(0): free arena memory back to the kernel; true when some was released. */
export function mallocTrim(): boolean;
/** glibc's mallinfo2(): chunks and bytes served by their own mmap, bytes in the arenas, free bytes in them; null where not glibc. */
export function mallocInfo(): { mmapChunks: number; mmapBytes: number; arenaBytes: number; freeBytes: number } | null;
/** Both daemons' allocator policy (mallocTune with the thresholds below) unless STRATA_MALLOC_TUNE=0; returns what is in force, for the log. */
export function tuneDaemonAllocator(env?: NodeJS.ProcessEnv): string;
export const MMAP_THRESHOLD: number;
export const TRIM_THRESHOLD: number;
