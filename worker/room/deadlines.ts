/**
 * The room's timers. One Durable Object alarm multiplexes every deadline (a DO has a single alarm:
 * https://developers.cloudflare.com/durable-objects/api/alarms/): resume-grace expiry, the dead-socket
 * sweep and the empty-room TTL. The hot path never touches the alarm.
 */

/** A socket silent (no frame, no auto-answered ping) for longer than this is closed as dead. Clients ping every ~20 s. */
export const IDLE_TIMEOUT_MS = 60_000;
/** How often the sweep runs while sockets are open; a dead socket is noticed within IDLE_TIMEOUT_MS + this. */
export const SWEEP_INTERVAL_MS = 30_000;
/** Delay of the coalesced outbox flush; the most a crash or deploy can lose (docs/decisions.md). */
export const FLUSH_DELAY_MS = 250;

/** What the next alarm has to serve. */
export interface DeadlineInputs {
  now: number;
  /** Sockets open now (each needs the sweep). */
  openSockets: number;
  /** Earliest resume-grace end among reconnecting peers, or Infinity. */
  earliestGraceEnd: number;
  /** When the room became empty (null while it has peers or has no state). */
  emptySince: number | null;
  emptyRoomTtlMs: number;
}

/** When the alarm should next fire, or null when nothing is pending. */
export function nextAlarmAt(inputs: DeadlineInputs): number | null {
  let next = inputs.earliestGraceEnd;
  if (inputs.openSockets > 0) next = Math.min(next, inputs.now + SWEEP_INTERVAL_MS);
  if (inputs.emptySince !== null) next = Math.min(next, inputs.emptySince + inputs.emptyRoomTtlMs);
  return Number.isFinite(next) ? next : null;
}

/** True when a socket last heard from at `lastHeardAt` counts as dead at `now`. */
export function isSilent(lastHeardAt: number, now: number): boolean {
  return now - lastHeardAt > IDLE_TIMEOUT_MS;
}
