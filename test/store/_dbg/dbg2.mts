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
console.log("start", Date.now());
const running = s.gc({ livePointIds: ['p'], rewriteBelow: 1 });
let done = false; running.finally(() => { done = true; });
const kept: any[] = [];
let n = 0;
for (; !done; n++) {
  const c = chunks[300 + 4 * ((n * 7919) % 300)]!;
  if (n % 2) { await s.put(c); kept.push(c); } else if (s.markInUse(c.hash)) kept.push(c);
  if (n % 10 === 0) await s.put(raw(randomBytes(300)));
  await new Promise((r) => setTimeout(r, 1));
}
console.log(await running, 'iterations', n);
let lost = 0; for (const c of kept) if (!(await s.has(c.hash))) lost++;
console.log('lost', lost, 'kept', kept.length);
await s.close();
(await import('node:fs')).rmSync(dir, { recursive: true });
