/**
 * Small-file throughput of runBackup and runRestore (not a test):
 * `npx tsx test/agent/bench-small.ts [files]`. An in-memory store stands in for the network.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { runBackup } from '../../agent/src/backup/index.js';
import { runRestore } from '../../agent/src/restore/index.js';
import { FakeStore } from './fake-store.js';

const n = Number(process.argv[2] ?? 20000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-small-'));
try {
  const src = path.join(dir, 'src');
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const d = path.join(src, `p${Math.floor(i / 1000)}`, `d${Math.floor(i / 100) % 10}`);
    if (i % 100 === 0) fs.mkdirSync(d, { recursive: true });
    const size = Math.floor(256 * Math.exp(Math.random() * Math.log(192)));
    fs.writeFileSync(path.join(d, `f${i}.txt`), randomBytes(size).toString('base64').slice(0, size));
    bytes += size;
  }
  for (const filesInFlight of [1, 8]) {
    const store = new FakeStore();
    let t = performance.now();
    const r = await runBackup({ cmd: { jobId: 'b', dataSourceId: 'd', paths: [src], includes: [], excludes: [], parentPointId: '' }, cacheDir: path.join(dir, `cache${filesInFlight}`), uplink: store.uplink(), tuning: { filesInFlight } });
    let s = (performance.now() - t) / 1000;
    console.log(`backup, filesInFlight ${filesInFlight}: ${r.files} files, ${(bytes / 1e6).toFixed(0)} MB: ${s.toFixed(2)} s, ${(r.files / s).toFixed(0)} files/s`);
    t = performance.now();
    const rr = await runRestore({ root: r.root, target: path.join(dir, `r${filesInFlight}`), paths: [], overwrite: false, downlink: store.downlink(), tuning: { pendingSyncs: Number(process.env.SYNCS ?? 16) } });
    s = (performance.now() - t) / 1000;
    console.log(`restore: ${rr.files} files: ${s.toFixed(2)} s, ${(rr.files / s).toFixed(0)} files/s`);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
