import { randomBytes, createHash } from 'node:crypto';
import { Chunker, chunkBuffer } from '../chunker/index.js';
import { compress } from 'zstd-napi';
const buf = randomBytes(256 << 20);
for (let r = 0; r < 3; r++) {
  let t = performance.now();
  const c = new Chunker(); let n = 0, tot = 0;
  for (let o = 0; o < buf.length; o += 4 << 20) { for (const ch of c.push(buf.subarray(o, o + (4 << 20)))) { n++; tot += ch.length; } }
  for (const ch of c.finish()) { n++; tot += ch.length; }
  let dt = performance.now() - t;
  console.log('chunk', (buf.length / 1e6 / (dt / 1e3)).toFixed(0), 'MB/s', n, 'chunks avg', (tot / n / 1024).toFixed(2), 'KiB');
  const chunks = chunkBuffer(buf);
  t = performance.now();
  for (const ch of chunks) createHash('sha256').update(ch).digest();
  dt = performance.now() - t; console.log('sha', (buf.length / 1e6 / (dt / 1e3)).toFixed(0));
  t = performance.now();
  for (const ch of chunks) compress(ch, { compressionLevel: 1 });
  dt = performance.now() - t; console.log('zstd1 random', (buf.length / 1e6 / (dt / 1e3)).toFixed(0));
}
