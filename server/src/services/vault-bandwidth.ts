/**
 * The admin's upload bandwidth limits for the vault tier, as MARS has them:
 * one rate during work hours on work days, another outside them, server-wide,
 * read in the server's time zone. server.ts turns them into the vault
 * library's `workHoursLimit({...bandwidth, timeZone})`, which the uploader's
 * throttle asks before each PUT.
 */
import { invalid } from '../errors.js';

export interface VaultBandwidth {
  /** Bytes per second during work hours; null = unlimited. */
  workHours: number | null;
  /** Bytes per second outside them; null = unlimited. */
  offHours: number | null;
  /** Work hours start at this hour (0-23) and end before `to` (1-24). */
  from: number;
  to: number;
  /** Work days, 0 = Sunday … 6 = Saturday (Date.getDay's numbering). */
  days: number[];
}

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** '512K', '10M', '1G', '2.5M', '65536' (bytes per second, binary units) → bytes/s; '0' → null (unlimited). */
export function parseRate(flag: string, s: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([KMG]?)(?:i?B)?(?:\/s)?$/i.exec(s.trim());
  if (!m) throw invalid(`${flag} must be a rate in bytes per second such as 512K, 10M or 1G, or 0 for unlimited (got '${s}')`);
  const n = Math.floor(Number(m[1]) * UNITS[m[2]!.toUpperCase()]!);
  if (n === 0) return null;
  // Below 1 KiB/s a 16 MiB pack would take hours: surely a typo (512 for 512K).
  if (n < 1024) throw invalid(`${flag} must be at least 1K (1024 bytes per second) or 0 for unlimited (got '${s}')`);
  return n;
}

/** 'HH-HH' (24-hour, start < end, end may be 24) → {from, to}. */
export function parseWorkHours(s: string): { from: number; to: number } {
  const m = /^(\d{1,2})(?::00)?-(\d{1,2})(?::00)?$/.exec(s.trim());
  const from = m ? Number(m[1]) : NaN;
  const to = m ? Number(m[2]) : NaN;
  if (!m || from > 23 || to > 24 || from >= to) {
    throw invalid(`--work-hours must be HH-HH with the start before the end, such as 08-18 (got '${s}')`);
  }
  return { from, to };
}

/** 'mon-fri', 'mon,wed,fri', 'sat-sun', 'mon-wed,fri' → sorted day numbers (0 = Sunday). */
export function parseWorkDays(s: string): number[] {
  const bad = () => invalid(`--work-days must be days such as mon-fri or mon,tue,thu (sun mon tue wed thu fri sat; got '${s}')`);
  const out = new Set<number>();
  for (const part of s.toLowerCase().split(',').map((p) => p.trim())) {
    const range = /^([a-z]{3})(?:-([a-z]{3}))?$/.exec(part);
    if (!range) throw bad();
    const a = DAYS.indexOf(range[1]!);
    const b = range[2] ? DAYS.indexOf(range[2]) : a;
    if (a < 0 || b < 0) throw bad();
    // A range may wrap the week's end (fri-mon).
    for (let d = a; ; d = (d + 1) % 7) {
      out.add(d);
      if (d === b) break;
    }
  }
  return [...out].sort((x, y) => x - y);
}

/** The server flags as one setting; undefined when no limit is set at all (no throttle). */
export function parseBandwidthFlags(o: { vaultBandwidthWork?: string; vaultBandwidthOff?: string; workHours?: string; workDays?: string }): VaultBandwidth | undefined {
  const workHours = o.vaultBandwidthWork === undefined ? null : parseRate('--vault-bandwidth-work', o.vaultBandwidthWork);
  const offHours = o.vaultBandwidthOff === undefined ? null : parseRate('--vault-bandwidth-off', o.vaultBandwidthOff);
  // Parsed even when no rate is set, so a typo is reported at start, not later.
  const { from, to } = parseWorkHours(o.workHours ?? '08-18');
  const days = parseWorkDays(o.workDays ?? 'mon-fri');
  if (workHours === null && offHours === null) return undefined;
  return { workHours, offHours, from, to, days };
}

/** `--vault-pack-size`: '4M', '16M' (1M to 256M, binary units) → bytes. */
export function parsePackSize(s: string): number {
  const m = /^(\d+)\s*([KMG]?)$/i.exec(s.trim());
  const n = m ? Number(m[1]) * UNITS[m[2]!.toUpperCase()]! : NaN;
  if (!(n >= 1024 ** 2 && n <= 256 * 1024 ** 2)) throw invalid(`--vault-pack-size must be a size from 1M to 256M such as 16M (got '${s}')`);
  return n;
}
