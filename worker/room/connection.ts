/**
 * Per-socket state. The attachment (serializeAttachment) survives hibernation and names the peer; the
 * rate-limit bucket, refusal counter and last-message time are memory only and start fresh after a wake.
 */
import { TokenBucket } from "./rate-limit.ts";
import { RefusalCounter } from "./refusals.ts";

/** What a socket carries through hibernation. */
export interface SocketAttachment {
  peerId: string;
  connectionId: string;
  /** When the socket was accepted (ms). */
  connectedAt: number;
}

/** In-memory state of one accepted socket. */
export class Connection {
  readonly peerId: string;
  readonly connectionId: string;
  readonly connectedAt: number;
  readonly bucket: TokenBucket;
  readonly refusals = new RefusalCounter();
  /** Last inbound frame (ms); after a wake it starts at the wake time (the sweep then waits a full timeout). */
  lastMessageAt: number;

  constructor(attachment: SocketAttachment, ratePerSecond: number, rateBurst: number, now: number) {
    this.peerId = attachment.peerId;
    this.connectionId = attachment.connectionId;
    this.connectedAt = attachment.connectedAt;
    this.bucket = new TokenBucket(ratePerSecond, rateBurst, now);
    this.lastMessageAt = now;
  }
}

/** Reads a socket's attachment; null for a socket this room did not accept as a peer. */
export function readAttachment(ws: WebSocket): SocketAttachment | null {
  const value: unknown = ws.deserializeAttachment();
  if (typeof value !== "object" || value === null) return null;
  const { peerId, connectionId, connectedAt } = value as Partial<SocketAttachment>;
  if (typeof peerId !== "string" || typeof connectionId !== "string" || typeof connectedAt !== "number") return null;
  return { peerId, connectionId, connectedAt };
}
