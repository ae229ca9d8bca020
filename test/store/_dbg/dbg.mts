import { randomBytes, createHash } from 'node:crypto';
import { ChunkStore } from '../../../server/src/chunk-store/index.js';
const sha = (b: Buffer) => createHash('sha256').update(b).digest();
const raw = (d: Buffer) => ({ hash: sha(d), compression: 0, rawSize: d.length, data: d });
const dir = '/tmp/dbg-' + process.pid;
const s = await ChunkStore.open(dir, { packTargetSize: 8 * 1024 });
const chunks = Array.from({ length: 1500 }, () => raw(randomBytes(700)));
for (const c of chunks) await s.put(c);
await s.flush();
await s.refs.write('p', chunks.slice(0, 300).map((c) => c.hash));
const idx = (s as any).index;
const running = s.gc({ livePointIds: ['p'], rewriteBelow: 1 });
let done = false; running.finally(() => { done = true; });
const log: any[] = [];
let i = 300;
while (!done && i < 1500) {
  const c = chunks[i]!;
  const before = idx.lookup(c.hash);
  let how;
  if (i % 2) { await s.put(c); how = 'put'; } else { how = s.markInUse(c.hash); }
  const f = raw(randomBytes(300));
  await s.put(f);
  if (log.length % 20 === 0) console.log("iter", log.length, Date.now());
  log.push({ i, how, before: before?.packId, start: (s as any).gcState?.startPackId, c, f, fpack: idx.lookup(f.hash)?.packId, cpack: idx.lookup(c.hash)?.packId });
  i += 7;
  await new Promise((r) => setImmediate(r));
}
console.log(await running);
for (const l of log) {
  const hc = await s.has(l.c.hash), hf = await s.has(l.f.hash);
  if ((l.how !== false && !hc) || !hf) console.log('LOST', { i: l.i, how: l.how, before: l.before, start: l.start, cpack: l.cpack, fpack: l.fpack, hc, hf, nowC: idx.lookup(l.c.hash), nowF: idx.lookup(l.f.hash) });
}
console.log('iterations', log.length, 'tomb', [...idx.m.tombstones].slice(0, 50));
await s.close();
