/** The restorer's view of the server (RestoreDownlink): chunk requests matched to replies by batch id. */
import type { Chunk, Frame } from '@strata/protocol';
import type { RestoreDownlink } from './restore/index.js';
import type { Link } from './link.js';

export class LinkDownlink implements RestoreDownlink {
  private next = 1;
  private pending = new Map<number, { resolve: (c: Chunk[]) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;
  private off: () => void;

  constructor(private link: Link, private jobId: string) {
    this.off = link.onFrame((f: Frame) => {
      if (f.kind === 'chunkBatch' && f.body.jobId === jobId) {
        this.pending.get(f.body.batchId)?.resolve(f.body.chunks);
        this.pending.delete(f.body.batchId);
      }
    });
    link.onClose((why) => this.abort(new Error(why)));
  }

  abort(e: Error) {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  async fetch(hashes: Buffer[]): Promise<Chunk[]> {
    if (this.failure) throw this.failure;
    const batchId = this.next++;
    const reply = new Promise<Chunk[]>((resolve, reject) => this.pending.set(batchId, { resolve, reject }));
    await this.link.send({ kind: 'chunkRequest', body: { jobId: this.jobId, batchId, hashes } });
    return reply;
  }

  close() { this.off(); }
}
