import { randomBytes } from 'node:crypto';
import { TableReader, TableWriter } from '../../../server/src/chunk-store/table.js';
import { sortRecords } from '../../../server/src/chunk-store/sort.js';
import { Bloom } from '../../../server/src/chunk-store/bloom.js';
import { INDEX_RUN_MAGIC } from '../../../server/src/chunk-store/format.js';
const N = Number(process.argv[2] ?? 2_000_000);
const dir = '/tmp/scale-' + process.pid; (await import('node:fs')).mkdirSync(dir);
let t = performance.now();
const recs = sortRecords(randomBytes(N * 48), 48);
console.log('sort ms', (performance.now() - t).toFixed(0));
t = performance.now();
const w = await TableWriter.create(dir + '/r.idx', INDEX_RUN_MAGIC, 48, N);
const bloom = Bloom.forCount(N);
for (let at = 0; at < recs.length; at += 48) { bloom.add(recs, at); const p = w.add(recs, at); if (p) await p; }
await w.finish();
console.log('write ms', (performance.now() - t).toFixed(0));
for (const cache of [1 << 30, 0]) {
  const r = TableReader.open(dir, dir + '/r.idx', INDEX_RUN_MAGIC, 48, cache);
  const M = 200000;
  t = performance.now();
  for (let i = 0; i < M; i++) { const at = ((i * 7919) % N) * 48; if (!r.find(recs.subarray(at, at + 32))) throw new Error('miss'); }
  const hit = (performance.now() - t) / M * 1000;
  const probes = Array.from({ length: M }, () => randomBytes(32));
  t = performance.now();
  for (const k of probes) r.find(k);
  const miss = (performance.now() - t) / M * 1000;
  t = performance.now();
  let fp = 0; for (const k of probes) if (bloom.mayHave(k)) fp++;
  const bl = (performance.now() - t) / M * 1000;
  console.log(`fanout cached=${cache > 0}: hit ${hit.toFixed(2)} us, miss ${miss.toFixed(2)} us, bloom ${bl.toFixed(3)} us fp ${(fp / M * 100).toFixed(2)}%`);
  r.close();
}
(await import('node:fs')).rmSync(dir, { recursive: true });
