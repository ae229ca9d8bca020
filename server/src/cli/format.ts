/** Human formatting for the CLI: sizes, rates, durations, tables, progress lines. */
export function bytes(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return `${i ? v.toFixed(v < 10 ? 2 : 1) : v} ${u[i]}`;
}

export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function table(rows: Array<Record<string, unknown>>, cols: string[]): string {
  const cells = rows.map((r) => cols.map((c) => String(r[c] ?? '')));
  const w = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((x, i) => x.padEnd(w[i]!)).join('  ').trimEnd();
  return [line(cols.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n');
}

export interface JobView {
  id: string; type: string; state: string; bytesScanned?: number; bytesSent?: number; bytesStored?: number;
  filesScanned?: number; filesChanged?: number; bytesTotal?: number | null; filesTotal?: number | null; startedAt?: string | null;
}

/** One progress line: bytes, files, rate and ETA. */
export function progressLine(j: JobView, now = Date.now()): string {
  const elapsed = Math.max(1, now - (j.startedAt ? Date.parse(j.startedAt) : now));
  const done = j.bytesScanned ?? 0;
  const rate = (done / elapsed) * 1000;
  const total = j.bytesTotal ?? 0;
  const pct = total ? ` ${Math.min(100, (100 * done) / total).toFixed(1)}%` : '';
  const eta = total && rate > 0 && done < total ? ` ETA ${duration(((total - done) / rate) * 1000)}` : '';
  const files = `${j.filesScanned ?? 0}${j.filesTotal ? '/' + j.filesTotal : ''} files`;
  return `${j.type} ${j.state}:${pct} ${bytes(done)}${total ? ' of ' + bytes(total) : ''}, ${files}, ${bytes(rate)}/s, sent ${bytes(j.bytesSent ?? 0)}${eta}`;
}
