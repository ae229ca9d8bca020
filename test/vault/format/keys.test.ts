/** Vault creation and unlocking: passphrase rules, wrong passphrase, saved key, config checks, what reaches the vault. */
import { promises as fsp, statSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createVault, loadVaultKey, openVault, saveVaultKey, VaultExistsError, VaultFormatError, VaultKeyMismatchError,
  VaultNotInitializedError, VaultPassphraseTooShortError, VaultWrongPassphraseError,
} from '../../../server/src/vault/index.js';
import { FaultyBackend, localBackend, PASS, tempDir } from './helpers.js';

describe('vault keys', () => {
  it('refuses a passphrase shorter than 16 characters, before writing anything', async () => {
    const b = await localBackend();
    await expect(createVault(b, 'short-pass-15ch')).rejects.toThrow(VaultPassphraseTooShortError);
    await expect(createVault(b, 'short-pass-15ch')).rejects.toThrow(/at least 16 characters/);
    expect(await b.head('config')).toBeNull();
    // 16 code points, even when they are multi-byte
    await expect(createVault(b, 'ééééééééééééééé')).rejects.toThrow(VaultPassphraseTooShortError);
  });

  it('creates, reopens with the passphrase, and refuses a wrong one with a clear message', async () => {
    const b = await localBackend();
    const v = await createVault(b, PASS);
    const v2 = await openVault(b, PASS);
    expect(v2.id).toBe(v.id);
    expect(v2.chunkId(Buffer.alloc(32, 1)).equals(v.chunkId(Buffer.alloc(32, 1)))).toBe(true);
    const err = await openVault(b, PASS + 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VaultWrongPassphraseError);
    expect((err as Error).message).toContain(`wrong passphrase for vault ${b.description}`);
    expect((err as VaultWrongPassphraseError).kind).toBe('auth');
    await expect(createVault(b, PASS)).rejects.toThrow(VaultExistsError);
  });

  it('a backend without a vault says so', async () => {
    await expect(openVault(await localBackend(), PASS)).rejects.toThrow(VaultNotInitializedError);
  });

  it('never stores the passphrase, the master key or a plaintext hash in the vault', async () => {
    const dir = tempDir();
    const b = await localBackend(dir);
    const v = await createVault(b, PASS);
    const config = await b.get('config');
    const master = v.exportKey().key;
    expect(config.includes(Buffer.from(PASS))).toBe(false);
    expect(config.includes(master)).toBe(false);
    expect(config.includes(Buffer.from(master.toString('base64')))).toBe(false);
    const j = JSON.parse(config.toString());
    expect(j).toMatchObject({ format: 'strata-vault', version: 1, kdf: { name: 'scrypt', N: 131072, r: 8, p: 1 } });
    const h = Buffer.alloc(32, 7);
    expect(v.chunkId(h).equals(h)).toBe(false);
  });

  it('runs unattended from a 0600 key file, and refuses the key of another vault', async () => {
    const b = await localBackend();
    const v = await createVault(b, PASS);
    const file = path.join(tempDir(), 'vault-key.json');
    await saveVaultKey(file, v.exportKey());
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const k = await loadVaultKey(file);
    const v2 = await openVault(b, { key: k });
    expect(v2.keys.keyId).toBe(v.keys.keyId);
    expect((await fsp.readFile(file, 'utf8')).includes(PASS)).toBe(false);

    const other = await createVault(await localBackend(), PASS);
    await expect(openVault(b, { key: other.exportKey() })).rejects.toThrow(VaultKeyMismatchError);
    await expect(openVault(b, { key: { ...k, key: Buffer.alloc(32) } })).rejects.toThrow(/key id differs/);
    await fsp.chmod(file, 0o644);
    await expect(loadVaultKey(file)).rejects.toThrow(/must be 0600/);
  });

  it('changes the passphrase by rewrapping the same master key', async () => {
    const b = await localBackend();
    const v = await createVault(b, PASS);
    const NEW = 'another long passphrase, 2026';
    await v.changePassphrase(NEW);
    await expect(openVault(b, PASS)).rejects.toThrow(VaultWrongPassphraseError);
    const v2 = await openVault(b, NEW);
    expect(v2.keys.keyId).toBe(v.keys.keyId);
  });

  it('refuses a config of a newer version, weakened KDF parameters, or an altered wrapped key', async () => {
    const b = await localBackend();
    await createVault(b, PASS);
    const orig = JSON.parse((await b.get('config')).toString());
    const put = (j: unknown) => b.put('config', Buffer.from(JSON.stringify(j)));

    await put({ ...orig, version: 2 });
    await expect(openVault(b, PASS)).rejects.toThrow(/version 2 is newer than this server supports/);
    await put({ ...orig, kdf: { ...orig.kdf, N: 1024 } });
    await expect(openVault(b, PASS)).rejects.toThrow(VaultFormatError);
    await expect(openVault(b, PASS)).rejects.toThrow(/weaker than the minimum/);
    // a stronger N than the key was wrapped with: the AAD binds the parameters
    await put({ ...orig, kdf: { ...orig.kdf, N: 262144 } });
    await expect(openVault(b, PASS)).rejects.toThrow(VaultWrongPassphraseError);
    const data = Buffer.from(orig.wrappedKey.data, 'base64');
    data[3] ^= 1;
    await put({ ...orig, wrappedKey: { ...orig.wrappedKey, data: data.toString('base64') } });
    await expect(openVault(b, PASS)).rejects.toThrow(/wrong passphrase for vault/);
    await b.put('config', Buffer.from('garbage'));
    await expect(openVault(b, PASS)).rejects.toThrow(/not a Strata vault/);
    await put(orig);
    await openVault(b, PASS);
  });

  it('a create whose first config put landed but whose answer was lost still succeeds (and a real conflict does not)', async () => {
    const fb = new FaultyBackend(await localBackend());
    fb.failPut(0, { kind: 'unreachable', when: 'after' });
    const v = await createVault(fb, PASS, { retry: { baseDelayMs: 1 } });
    expect(JSON.parse((await fb.get('config')).toString()).vaultId).toBe(v.id);
    await expect(createVault(fb, PASS)).rejects.toThrow(VaultExistsError);
  });
});
