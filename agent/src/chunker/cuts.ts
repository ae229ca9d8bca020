/** What a chunking-and-hashing engine (the file worker, the native addon) answers, shared by both. */

/** The chunks a block completed: their end offsets within the block, and their SHA-256s (32 bytes each, in order). */
export interface BlockCuts { ends: Int32Array | Uint32Array; hashes: Buffer }

/** One file's bytes, block after block. Contract: a block's bytes must not change until its push settled. */
export interface HashStream {
  /** Chunks and hashes the next block of the stream completes. */
  push(block: Buffer): Promise<BlockCuts>;
  /** The hash of the stream's last (unfinished) chunk, or null if nothing is pending; ends the stream. */
  finish(): Promise<Buffer | null>;
}
