/**
 * The room wire protocol (version 1): JSON text frames on `GET /v1/rooms/:room/ws`.
 * Every inbound frame is validated with these schemas; docs/protocol.md describes each message.
 */
import { z } from "zod";
import type { ErrorCode } from "./errors.ts";

/** Protocol version announced in `welcome`. */
export const PROTOCOL_VERSION = 1;

/** Keep-alive frames (defined zod-free in keepalive.ts for the browser bundle). */
export { PING_FRAME, PONG_FRAME } from "./keepalive.ts";

/** Free-form, JSON-serialisable peer metadata (display name, avatar, app state). */
export const Metadata = z.record(z.string(), z.unknown());
export type Metadata = z.infer<typeof Metadata>;

/** Server-assigned peer id. */
export const PeerId = z.string().min(1).max(64);

// ---------- client → server ----------

/**
 * Client sequence number of a durable client frame: 1, 2, 3, … per session, in send order. Optional (a client
 * that sends none keeps protocol v1 behaviour); with it the room drops re-sent duplicates, refuses gaps and
 * acknowledges with `client-ack` (docs/protocol.md, "Client sequence numbers").
 */
export const ClientSeq = z.number().int().positive();

/** Relay `data` to one peer. */
export const ClientSignal = z.object({ type: z.literal("signal"), to: PeerId, data: z.unknown(), cseq: ClientSeq.optional() });
/** Send `data` to every other peer; `ephemeral` frames carry no seq (nor cseq) and are never retained. */
export const ClientBroadcast = z.object({
  type: z.literal("broadcast"),
  data: z.unknown(),
  ephemeral: z.boolean().optional(),
  cseq: ClientSeq.optional(),
});
/** Cumulative acknowledgement: every frame with seq ≤ `seq` was received. */
export const ClientAck = z.object({ type: z.literal("ack"), seq: z.number().int().nonnegative() });
/** Deliberate goodbye: the peer leaves at once (no resume grace). */
export const ClientLeave = z.object({ type: z.literal("leave") });
/** Replace this peer's metadata; the others get `peer-updated`. */
export const ClientMetadata = z.object({ type: z.literal("metadata"), metadata: Metadata, cseq: ClientSeq.optional() });
/** A connection-quality report, shared with the room as an ephemeral `quality` frame. */
export const ClientQuality = z.object({
  type: z.literal("quality"),
  report: z.record(z.string(), z.unknown()),
});
/** Admin grant: remove a peer from the room. */
export const ClientKick = z.object({
  type: z.literal("kick"),
  peerId: PeerId,
  reason: z.string().max(200).optional(),
  cseq: ClientSeq.optional(),
});
/** Admin grant: disconnect everyone and forget the room. */
export const ClientCloseRoom = z.object({ type: z.literal("close-room"), cseq: ClientSeq.optional() });

/** Any frame a client may send. */
export const ClientMessage = z.discriminatedUnion("type", [
  ClientSignal,
  ClientBroadcast,
  ClientAck,
  ClientLeave,
  ClientMetadata,
  ClientQuality,
  ClientKick,
  ClientCloseRoom,
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

// ---------- server → client ----------

/** A peer as others see it. */
export interface PeerInfo {
  peerId: string;
  /** The token's `sub`: two devices of one user are two peers with the same userId. */
  userId: string;
  name?: string;
  metadata: Metadata;
  joinedAt: number;
}

/** Limits the server enforces on this connection. */
export interface RoomLimits {
  maxFrameBytes: number;
  maxPeers: number;
  ratePerSecond: number;
  rateBurst: number;
  resumeGraceSeconds: number;
}

/** First frame on every connection. */
export interface WelcomeMessage {
  type: "welcome";
  v: number;
  room: string;
  peerId: string;
  /** The other peers, never the joiner itself. */
  peers: PeerInfo[];
  /** Secret for `?resume=`; valid until the grace period after a drop ends. */
  resumeToken: string;
  /** True when this connection resumed an earlier session (same peerId, missed frames follow). */
  resumed: boolean;
  limits: RoomLimits;
  /**
   * Present (true) only on a resume after the server restarted uncleanly (crash, deploy): durable frames sent
   * in the last moments before the restart may be lost, or come again under a new seq (a sender re-sent a frame
   * whose cseq was not stored yet), and seq may jump. Renegotiate if in doubt (docs/protocol.md).
   */
  lossPossible?: boolean;
  /**
   * Highest client sequence number (`cseq`) the room has processed for this session: 0 on a fresh session; on a
   * resume the client re-sends its unacknowledged frames with a higher cseq, in order. Always sent by servers that
   * acknowledge client frames; absent from older servers (then the client must not expect `client-ack`).
   */
  lastClientSeq?: number;
}

/** Durable frames carry a per-recipient `seq`, acknowledged with `ack`, and survive a reconnect. */
export interface SignalMessage {
  type: "signal";
  from: string;
  data: unknown;
  seq: number;
}
export interface PeerJoinedMessage {
  type: "peer-joined";
  peer: PeerInfo;
  peerId: string;
  seq: number;
}
export interface PeerReconnectingMessage {
  type: "peer-reconnecting";
  peerId: string;
  seq: number;
}
export interface PeerResumedMessage {
  type: "peer-resumed";
  peerId: string;
  seq: number;
}
export interface PeerLeftMessage {
  type: "peer-left";
  peerId: string;
  reason: "left" | "timeout" | "kicked" | "closed";
  seq: number;
}
export interface PeerUpdatedMessage {
  type: "peer-updated";
  peerId: string;
  metadata: Metadata;
  seq: number;
}
export interface BroadcastMessage {
  type: "broadcast";
  from: string;
  data: unknown;
  /** Absent on ephemeral broadcasts. */
  seq?: number;
}
/** Ephemeral: never retained, no seq. */
export interface QualityMessage {
  type: "quality";
  from: string;
  report: Record<string, unknown>;
}
/**
 * Ephemeral: every durable client frame with cseq ≤ `cseq` was processed by the room and is stored with its
 * effects, so the client may forget it. Cumulative, sent at most once per coalesced flush (~250 ms).
 */
export interface ClientAckMessage {
  type: "client-ack";
  cseq: number;
}
export interface ErrorMessage {
  type: "error";
  code: ErrorCode;
  message: string;
  /** The cseq of the client frame this refusal answers (when that frame carried one). */
  cseq?: number;
  /** On `out_of_order`: the highest cseq the room processed; re-send from the next one. */
  lastClientSeq?: number;
}

/** Any frame the server sends (besides the PONG_FRAME keep-alive answer). */
export type ServerMessage =
  | WelcomeMessage
  | SignalMessage
  | PeerJoinedMessage
  | PeerReconnectingMessage
  | PeerResumedMessage
  | PeerLeftMessage
  | PeerUpdatedMessage
  | BroadcastMessage
  | QualityMessage
  | ClientAckMessage
  | ErrorMessage;

/** A peer in `GET /v1/rooms/:room`: its public info and whether its socket is up or in the resume grace. */
export interface RoomStatePeer extends PeerInfo {
  status: "connected" | "reconnecting";
}

/** `GET /v1/rooms/:room`: the room as the server sees it now. `createdAt` is null for a room with no state. */
export interface RoomState {
  room: string;
  createdAt: number | null;
  peers: RoomStatePeer[];
}

/** Server frames that carry a seq and are retained until acknowledged. */
export type DurableServerMessage = Extract<ServerMessage, { seq: number }>;
