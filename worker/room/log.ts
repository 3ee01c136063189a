/**
 * One JSON line per event, with the room and (when known) the peer, as Workers Logs index them.
 * Tokens and frame payloads are never logged.
 */

/** Fields every room log line may carry. */
export interface RoomLogFields {
  room?: string;
  peerId?: string;
  [field: string]: unknown;
}

/** Logs an error as one JSON line; `error` is reduced to its message (no stack to any client, none needed here). */
export function logRoomError(msg: string, error: unknown, fields: RoomLogFields): void {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  console.error(JSON.stringify({ level: "error", msg, ...fields, error: text }));
}

/** Logs a notable room event (join refusals, abuse closes, expiries) as one JSON line. */
export function logRoomEvent(msg: string, fields: RoomLogFields): void {
  console.log(JSON.stringify({ level: "info", msg, ...fields }));
}
