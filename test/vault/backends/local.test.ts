/**
 * The local-folder vault backend: the shared conformance suite on a tmp
 * folder, plus what only a file system can show — no temp files left behind,
 * an interrupted put never visible, stale temps cleaned, a full disk reported
 * as 'full' (on a small tmpfs; needs root, skips elsewhere, fails in CI).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalFolderBackend, openVaultBackend, VaultError } from '../../../server/src/vault/backends/index.js';
import { skipOrFail } from '../../helpers/servers.js';
import { collect, expectVaultError, sha, vaultBackendConformance } from './conformance.js';

const MiB = 1024 * 1024;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-vault-local-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

let n = 0;
const freshDir = () => path.join(work, `v${n++}`);

{
  const root = freshDir();
  vaultBackendConformance({
    name: 'local folder',
    open: () => openVaultBackend({ kind: 'local', path: root }),
    // what an unmounted share looks like: the folder is gone
    makeUnreachable: async () => fs.renameSync(root, `${root}.unmounted`),
    close: async () => undefined,
    bigListing: 1200,
    openDefault: () => LocalFolderBackend.open({ path: root }),
    exactIfAbsent: true,
    unreachableWithinMs: 1000,
  });
}

const incoming = (b: LocalFolderBackend) => fs.readdirSync(b.incomingDir);

describe('local folder vault: files on disk', () => {
  it('stores objects under objects/<key> and leaves no temp file behind, even after failed puts', async () => {
    const b = await LocalFolderBackend.open({ path: freshDir() });
    const data = randomBytes(3000);
    await b.put('packs/ab/abcdef', data);
    expect(sha(fs.readFileSync(path.join(b.objectsDir, 'packs', 'ab', 'abcdef')))).toBe(sha(data));
    await b.put('packs/ab/abcdef', randomBytes(10));
    await expectVaultError(b.put('packs/ab/abcdef', data, { ifAbsent: true }), 'conflict');
    await expectVaultError(b.put('../x', data), 'invalid');
    await b.put('idx/1', randomBytes(10), { ifAbsent: true });
    expect(incoming(b)).toEqual([]);
    expect(fs.readdirSync(b.root).sort()).toEqual(['incoming', 'objects']);
  });

  it('never shows an interrupted put: the old object stays, the new one never appears', async () => {
    const root = freshDir();
    const old = randomBytes(5000);
    let seen: string | undefined;
    const b = await LocalFolderBackend.open({
      path: root,
      beforePublish: async (temp) => {
        seen = temp;
        // the whole body is in the temp file, yet nothing is visible under the key
        expect(fs.statSync(temp).size).toBeGreaterThan(0);
        expect((await collect(b.list(''))).map((o) => o.key)).toEqual(['k/old']);
        throw new Error('simulated crash');
      },
    });
    const plain = await LocalFolderBackend.open({ path: root });
    await plain.put('k/old', old);
    await expect(b.put('k/old', randomBytes(9000))).rejects.toThrow(/simulated crash/);
    await expect(b.put('k/new', randomBytes(9000), { ifAbsent: true })).rejects.toThrow(/simulated crash/);
    expect(seen).toBeDefined();
    expect(sha(await plain.get('k/old'))).toBe(sha(old));
    expect(await plain.head('k/new')).toBeNull();
    expect(incoming(plain)).toEqual([]);
  });

  it('ignores temp files a crash left behind and removes them at open once they are stale', async () => {
    const root = freshDir();
    const b = await LocalFolderBackend.open({ path: root });
    await b.put('a/b', randomBytes(10));
    const stale = path.join(b.incomingDir, 'deadbeefdeadbeef.tmp');
    const fresh = path.join(b.incomingDir, 'cafecafecafecafe.tmp');
    fs.writeFileSync(stale, 'half an obj');
    fs.writeFileSync(fresh, 'another server is writing this');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    fs.utimesSync(stale, twoHoursAgo, twoHoursAgo);
    expect((await collect(b.list(''))).map((o) => o.key)).toEqual(['a/b']);
    const again = await LocalFolderBackend.open({ path: root });
    expect(incoming(again)).toEqual(['cafecafecafecafe.tmp']);
  });

  it("refuses a key that clashes with another key's folder ('a' and 'a/b')", async () => {
    const b = await LocalFolderBackend.open({ path: freshDir() });
    await b.put('a/b', randomBytes(10));
    await expectVaultError(b.put('a', randomBytes(10)), 'invalid');
    await b.put('c', randomBytes(10));
    await expectVaultError(b.put('c/d', randomBytes(10)), 'invalid');
    await expectVaultError(b.get('c/d'), 'not-found');
    await expectVaultError(b.get('a'), 'not-found');
    await b.delete('c/d');
    expect(incoming(b)).toEqual([]);
  });

  it('keeps ifAbsent on a file system without hard links (check, then rename)', async () => {
    const b = await LocalFolderBackend.open({ path: freshDir(), noHardLinks: true });
    const first = randomBytes(100);
    await b.put('nl/k', first, { ifAbsent: true });
    await expectVaultError(b.put('nl/k', randomBytes(100), { ifAbsent: true }), 'conflict');
    expect(sha(await b.get('nl/k'))).toBe(sha(first));
    expect(incoming(b)).toEqual([]);
  });

  it("reports a full disk as 'full', keeps nothing partial, and works again once space is back", async (ctx) => {
    const mnt = freshDir();
    fs.mkdirSync(mnt, { recursive: true });
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt], { stdio: 'pipe' });
    } catch (e) {
      skipOrFail('a small tmpfs for the vault disk-full test', (e as Error).message.split('\n')[0]!);
      return ctx.skip();
    }
    try {
      const b = await LocalFolderBackend.open({ path: mnt });
      await b.put('small/1', randomBytes(MiB));
      const e = await expectVaultError(b.put('big/1', randomBytes(6 * MiB)), 'full');
      expect(e.message).toContain(b.description);
      expect(e).toBeInstanceOf(VaultError);
      expect(await b.head('big/1')).toBeNull();
      expect(incoming(b)).toEqual([]);
      expect((await collect(b.list(''))).map((o) => o.key)).toEqual(['small/1']);
      await b.put('small/2', randomBytes(MiB));
      expect(await b.head('small/2')).toEqual({ size: MiB });
    } finally {
      execFileSync('umount', ['-l', mnt]);
    }
  });
});
