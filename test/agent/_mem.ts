import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { runBackup } from '../../agent/src/backup/index.js';
const dir = process.argv[2]!;
const src = path.join(dir, 'src');
if (!fs.existsSync(src)) {
  fs.mkdirSync(src, { recursive: true });
  for (let i = 0; i < 6; i++) { const fd = fs.openSync(path.join(src, `big${i}`), 'w'); for (let k = 0; k < 32; k++) fs.writeSync(fd, randomBytes(8 << 20)); fs.closeSync(fd); }
  for (let i = 0; i < 5000; i++) { const d = path.join(src, `d${i % 50}`); fs.mkdirSync(d, { recursive: true }); fs.writeFileSync(path.join(d, `f${i}`), randomBytes(8000)); }
}
const hwm = () => Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
console.log('before MiB', hwm().toFixed(0));
let sent = 0;
const t = performance.now();
let peak = { heapUsed: 0, external: 0, arrayBuffers: 0, rss: 0 };
const iv = setInterval(() => { const m = process.memoryUsage(); for (const k of Object.keys(peak) as (keyof typeof peak)[]) peak[k] = Math.max(peak[k], m[k] / 2 ** 20); }, 20);
const r = await runBackup({ tuning: { readBlock: Number(process.env.BLOCK ?? 4194304) }, cmd: { jobId: 'j', dataSourceId: 'd', paths: [src], includes: [], excludes: [], parentPointId: '' }, cacheDir: path.join(dir, 'cache' + Math.random()),
  uplink: { query: async (h) => h.map(() => false), send: async (c) => { sent += c.data.length; await new Promise((r) => setImmediate(r)); } } });
clearInterval(iv); console.log(JSON.stringify(peak, (k, v) => typeof v === 'number' ? Math.round(v) : v));
console.log('bytes', r.bytes, 'MB/s', (r.bytes / 1e6 / ((performance.now() - t) / 1000)).toFixed(0), 'peak RSS MiB', hwm().toFixed(0));
