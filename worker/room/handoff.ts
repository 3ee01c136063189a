/**
 * The contract between the room route and the Room Durable Object. The route authenticates and validates,
 * then forwards a fresh request carrying only these headers: a client can never set them, because the
 * route builds the forwarded request from scratch (no client header or token passes through).
 */
import { type RoomTokenClaims, RoomTokenClaims as RoomTokenClaimsSchema } from "../../protocol/room-token.ts";

/** Header with the validated room name. */
export const ROOM_HEADER = "x-switchboard-room";
/** Header with the verified room-token claims, as JSON. */
export const CLAIMS_HEADER = "x-switchboard-claims";
/** What the route tells the room about one connection attempt. */
export interface Handoff {
  room: string;
  claims: RoomTokenClaims;
  /** `?resume=`: the resume token of an earlier session, if any. */
  resumeToken?: string;
  /** `?lastSeq=`: the highest seq the client processed (only with resumeToken). */
  lastSeq?: number;
}

/** Builds the request the route forwards to the room for a WebSocket upgrade. */
export function handoffRequest(handoff: Handoff): Request {
  const url = new URL("https://room.internal/ws");
  if (handoff.resumeToken !== undefined) url.searchParams.set("resume", handoff.resumeToken);
  if (handoff.lastSeq !== undefined) url.searchParams.set("lastSeq", String(handoff.lastSeq));
  return new Request(url, {
    headers: {
      upgrade: "websocket",
      [ROOM_HEADER]: handoff.room,
      [CLAIMS_HEADER]: JSON.stringify(handoff.claims),
    },
  });
}

/** Reads the handoff from a forwarded request; null when it is missing or malformed (not from the route). */
export function readHandoff(request: Request): Handoff | null {
  const room = request.headers.get(ROOM_HEADER);
  const claimsText = request.headers.get(CLAIMS_HEADER);
  if (!room || !claimsText) return null;
  let claims: unknown;
  try {
    claims = JSON.parse(claimsText);
  } catch {
    return null;
  }
  const parsed = RoomTokenClaimsSchema.safeParse(claims);
  if (!parsed.success) return null;
  const url = new URL(request.url);
  const handoff: Handoff = { room, claims: parsed.data };
  const resumeToken = url.searchParams.get("resume");
  if (resumeToken) handoff.resumeToken = resumeToken;
  const lastSeq = url.searchParams.get("lastSeq");
  if (lastSeq !== null && /^\d{1,15}$/.test(lastSeq)) handoff.lastSeq = Number(lastSeq);
  return handoff;
}
