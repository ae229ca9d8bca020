/**
 * The vault service's open vaults: each vault's target(s) opened once (the
 * mirror when there is a secondary), unlocked with the key saved under the
 * data dir, with its known-chunks log; and a per-vault queue so that at most
 * one upload, purge or pruning runs on a vault at a time (docs/vault-format.md §9).
 */
import path from 'node:path';
import type { Vault as VaultRecord, VaultTarget } from '../catalog/index.js';
import type { Logger } from '../log.js';
import { openAttachedVault, type KnownChunks, type Vault, type VaultOptions } from '../vault/index.js';
import { openVaultBackend, type VaultBackend } from '../vault/backends/index.js';
import { KeyedMutex } from './keyed-mutex.js';
import { asStrataError } from './vault-input.js';
import { MirroredBackend, type MirrorOptions } from './vault-mirror.js';
import { backendConfig } from './vault-targets.js';

/** An open vault: the library Vault (mirrored with a secondary), its known chunks, and its targets. */
export interface OpenVault {
  record: VaultRecord;
  vault: Vault;
  known: KnownChunks;
  primary: VaultBackend;
  secondary: VaultBackend | null;
}

export interface VaultHandlesOptions {
  dataDir: string;
  log?: Logger;
  vaultOptions?: VaultOptions;
  mirror?: MirrorOptions;
}

export class VaultHandles {
  private readonly opened = new Map<string, Promise<OpenVault>>();
  private readonly locks = new KeyedMutex();

  constructor(private readonly o: VaultHandlesOptions) {}

  /** Key file and known chunks of a vault: <dataDir>/vault-state/<vault catalog id>/. */
  stateDir(vaultId: string): string {
    return path.join(this.o.dataDir, 'vault-state', vaultId);
  }

  /** Open the vault's targets (as stored, or as given at set-up); the mirror when there is a secondary. */
  async backends(v: VaultRecord, first?: VaultTarget, second?: VaultTarget | null): Promise<{ primary: VaultBackend; secondary: VaultBackend | null; backend: VaultBackend }> {
    const primary = await openVaultBackend(backendConfig(first ?? { kind: v.kind, config: v.config }));
    const secTarget = second === undefined ? v.secondary : second;
    if (!secTarget) return { primary, secondary: null, backend: primary };
    const secondary = await openVaultBackend(backendConfig(secTarget)).catch(async (err) => {
      await primary.close?.();
      throw err;
    });
    const log = this.o.log;
    return {
      primary, secondary,
      backend: new MirroredBackend(primary, secondary, {
        onFallback: (op, key, err) => log?.warn({ vault: v.name, op, key, err: (err as Error).message }, 'vault primary failed: read served by the secondary'),
        ...this.o.mirror,
      }),
    };
  }

  /** The vault unlocked with its saved key (no passphrase). Cached; the record is refreshed on each call. */
  async open(rec: VaultRecord): Promise<OpenVault> {
    let p = this.opened.get(rec.id);
    if (!p) {
      p = (async () => {
        const { primary, secondary, backend } = await this.backends(rec);
        const a = await openAttachedVault(backend, this.stateDir(rec.id), this.o.vaultOptions).catch(async (err) => {
          await backend.close?.();
          throw err;
        });
        return { record: rec, vault: a.vault, known: a.known, primary, secondary };
      })();
      this.opened.set(rec.id, p);
      p.catch(() => this.opened.delete(rec.id));
    }
    try {
      const h = await p;
      h.record = rec;
      return h;
    } catch (err) {
      throw asStrataError(err);
    }
  }

  /** Keep a vault opened at set-up (create / attach). */
  remember(h: OpenVault): void {
    this.opened.set(h.record.id, Promise.resolve(h));
  }

  forget(vaultId: string): void {
    this.opened.delete(vaultId);
  }

  /** Run fn after every earlier upload, purge or pruning of this vault. */
  locked<T>(vaultId: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.locked(vaultId, fn);
  }

  /** Close every open vault (known-chunks files, backend connections), after running uploads. */
  async close(): Promise<void> {
    await this.locks.idle();
    const all = [...this.opened.values()];
    this.opened.clear();
    for (const p of all) {
      const h = await p.catch(() => null);
      await h?.known.close().catch(() => undefined);
      await h?.vault.backend.close?.().catch(() => undefined);
    }
  }
}
