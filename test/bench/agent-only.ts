/**
 * The agent's backup path alone (not a test; `npx tsx test/bench/agent-only.ts DIR [MiB]`):
 * runBackup of the bench dataset (generated into DIR/data once) with a null
 * uplink that answers "missing" for every chunk, so the time and CPU seconds
 * are the agent's own ceiling without the server and the network.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runBackup, type BackupUplink } from '../../agent/src/backup/index.js';
import { generateDataset } from './dataset.js';

const dir = process.argv[2] ?? '/var/tmp/strata-agent-only';
const size = Number(process.argv[3] ?? 512) * 2 ** 20; // MiB
const data = join(dir, 'data');
if (!existsSync(data)) await generateDataset(data, size, 'strata-bench-1');
for (let round = 0; round < 3; round++) {
  await rm(join(dir, 'cache'), { recursive: true, force: true });
  let sent = 0;
  const uplink: BackupUplink = { query: async (h) => h.map(() => false), send: async (c) => { sent += c.data.length; } };
  const cpu = process.cpuUsage();
  const t = performance.now();
  const r = await runBackup({ cmd: { jobId: 'b', dataSourceId: 'd', paths: [data], includes: [], excludes: [], parentPointId: '' }, cacheDir: join(dir, 'cache'), uplink });
  const ms = performance.now() - t;
  const c = process.cpuUsage(cpu);
  console.log(`runBackup ${(r.bytes / 1e6).toFixed(0)} MB: ${(ms / 1000).toFixed(2)} s wall, ${((c.user + c.system) / 1e6).toFixed(2)} s CPU (all threads), sent ${(sent / 1e6).toFixed(0)} MB, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
}
