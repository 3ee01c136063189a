/** Presence: one PeerSession per peer in the room, connected or inside its resume grace. */
import type { Metadata, PeerInfo, RoomStatePeer } from "../../protocol/messages.ts";
import type { Grants } from "../../protocol/room-token.ts";
import { ClientSeq } from "./client-seq.ts";
import { Outbox } from "./outbox.ts";

/** What a peer may do, resolved from its token's grants with their defaults. */
export interface PeerGrants {
  /** May send signal and broadcast frames (default true). */
  canPublishData: boolean;
  /** May kick peers and close the room (default false). */
  admin: boolean;
}

/** A peer's session: survives socket drops for the resume grace; persisted in the `peers` table. */
export interface PeerSession {
  peerId: string;
  /** The token's `sub`. The same sub joining twice is two sessions (two devices) with the same userId. */
  userId: string;
  name: string | undefined;
  metadata: Metadata;
  joinedAt: number;
  grants: PeerGrants;
  /** Secret for `?resume=`; fixed for the session's life (a lost welcome must not strand the client). */
  resumeToken: string;
  /** Identifies the room token the current connection used (sub, iat, exp); a kick bans it. */
  tokenKey: string;
  /** The token's expiry (Unix seconds), kept so a ban lasts exactly as long as the banned token. */
  tokenExp: number;
  /** The open socket, or null while reconnecting. Memory only: sockets are found again after hibernation. */
  socket: WebSocket | null;
  /** Id of the current (or last) connection; events from a replaced socket carry another id and are ignored. */
  connectionId: string;
  /** 0 while connected; else when the resume grace ends (ms). */
  graceUntil: number;
  outbox: Outbox;
  /** The cseq of durable frames this peer sent: processed, stored, acknowledged (client-seq.ts). */
  clientSeq: ClientSeq;
  /** Set after an unclean restart: the next resume's welcome says frames may have been lost. */
  lossPossible: boolean;
}

/** Grants with defaults applied. */
export function resolveGrants(grants: Grants | undefined): PeerGrants {
  return { canPublishData: grants?.canPublishData ?? true, admin: grants?.admin ?? false };
}

/** The identity of a room token for bans: its subject, issue and expiry times. */
export function tokenKey(claims: { sub: string; iat?: number | undefined; exp: number }): string {
  return `${claims.sub}\u0000${claims.iat ?? 0}\u0000${claims.exp}`;
}

/** The peer as others see it. */
export function peerInfo(session: PeerSession): PeerInfo {
  const info: PeerInfo = { peerId: session.peerId, userId: session.userId, metadata: session.metadata, joinedAt: session.joinedAt };
  if (session.name !== undefined) info.name = session.name;
  return info;
}

/** The peer as `GET /v1/rooms/:room` reports it. */
export function peerState(session: PeerSession): RoomStatePeer {
  return { ...peerInfo(session), status: session.graceUntil === 0 ? "connected" : "reconnecting" };
}

/** A fresh session for a joining peer. */
export function newSession(fields: Omit<PeerSession, "outbox" | "clientSeq" | "lossPossible" | "graceUntil" | "socket">): PeerSession {
  return { ...fields, socket: null, graceUntil: 0, outbox: new Outbox(), clientSeq: new ClientSeq(), lossPossible: false };
}

/** Random URL-safe id of `bytes` random bytes. */
export function randomId(bytes: number): string {
  const buffer = crypto.getRandomValues(new Uint8Array(bytes));
  let text = "";
  for (const byte of buffer) text += String.fromCharCode(byte);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** A server-assigned peer id (96 random bits). */
export function newPeerId(): string {
  return randomId(12);
}

/** A resume token (256 random bits). */
export function newResumeToken(): string {
  return randomId(32);
}
