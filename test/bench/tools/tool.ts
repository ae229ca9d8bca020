/**
 * The one interface every benchmarked tool implements. A runner is stateless;
 * `open` creates a fresh repository / server for one source directory, and the
 * session is then driven through the phases in order:
 *   backup (full) → backup (unchanged) → [the 1% change] → backup → restore.
 */
export type ToolName = 'strata' | 'restic' | 'borg';

export interface PhaseSample {
  wallS: number;
  /** Bytes the tool moved for this backup (meaning per tool: see `sentMeaning`), null when unknown. */
  sentBytes: number | null;
  /** Peak RSS in KiB of the client / agent side (restic, borg: their single process). */
  rssAgentKiB: number | null;
  /** Peak RSS in KiB of the server (null for tools without one). */
  rssServerKiB: number | null;
  /** The tool's own statistics worth logging (not in the table). */
  detail?: string;
}

export interface ToolSession {
  backup(): Promise<PhaseSample>;
  /** Restores the latest backup; the files land under `target` + the absolute source path. */
  restore(target: string): Promise<PhaseSample>;
  /** Bytes of the store on disk (du -sb). */
  storeBytes(): Promise<number>;
  close(): Promise<void>;
}

export interface ToolRunner {
  readonly name: ToolName;
  /** The settings used, one line, printed under the table. */
  readonly settings: string;
  /** What the "sent" column means for this tool. */
  readonly sentMeaning: string;
  /** Finds (or installs) the binaries; throws with a clear message when impossible. */
  prepare(): Promise<void>;
  /** A fresh store under `workDir` for backing up `source`. */
  open(workDir: string, source: string): Promise<ToolSession>;
}
