/**
 * When scheduled work is due. Pure: the slots come from retention/schedule.ts,
 * "last run" from the catalog (the newest job of that kind on the source,
 * whatever its end). Comparing only the LATEST slot with the last run is what
 * makes a downtime cost one run, not one per missed slot.
 */
import { lastOnlineSlot, lastSyncSlot, type OnlinePolicySpec } from '../retention/index.js';

type Schedule = Pick<OnlinePolicySpec, 'schedule' | 'timeZone'>;

/**
 * The sync slot to run now, or null. A source that never ran is due at once
 * (its first backup, DPM's initial replica).
 */
export function syncDue(frequencyMinutes: number, now: Date, timeZone: string, lastRunAt: Date | null): Date | null {
  const slot = lastSyncSlot(frequencyMinutes, now, timeZone);
  return !lastRunAt || slot > lastRunAt ? slot : null;
}

/**
 * The online slot to run now, or null. `since` stands in for a last run that
 * never was: slots before it do not count (a source's first online backup is
 * at the first slot after its first disk point, not at once).
 */
export function onlineDue(spec: Schedule, now: Date, lastRunAt: Date | null, since: Date | null): Date | null {
  const ref = lastRunAt ?? since;
  if (!ref) return null;
  const slot = lastOnlineSlot(spec, now);
  return slot && slot > ref ? slot : null;
}

/** A daily time of day as a schedule (garbage collection). */
export const dailyAt = (time: string, timeZone: string): Schedule => ({ schedule: { frequency: 'daily', times: [time] }, timeZone });
