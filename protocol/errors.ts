/**
 * Machine-readable error codes shared by every Switchboard surface: WebSocket `error` frames,
 * HTTP problem answers (RFC 9457) and the browser client. A client branches on `code`, shows `message`.
 */
export const ErrorCode = {
  // Frames on a room socket
  badJson: "bad_json",
  badMessage: "bad_message",
  binaryNotSupported: "binary_not_supported",
  tooLarge: "too_large",
  unknownPeer: "unknown_peer",
  rateLimited: "rate_limited",
  roomFull: "room_full",
  forbidden: "forbidden",
  queueFull: "queue_full",
  /** A frame's cseq skipped one the room has not processed (it waits for the missing frame). */
  outOfOrder: "out_of_order",
  resumeFailed: "resume_failed",
  // Authentication and requests
  unauthorized: "unauthorized",
  tokenExpired: "token_expired",
  tokenInvalid: "token_invalid",
  wrongRoom: "wrong_room",
  invalidRoom: "invalid_room",
  badRequest: "bad_request",
  notFound: "not_found",
  methodNotAllowed: "method_not_allowed",
  upgradeRequired: "upgrade_required",
  // Operator and platform
  misconfigured: "misconfigured",
  internal: "internal",
  noTurnNodes: "no_turn_nodes",
  hostNotAllowed: "host_not_allowed",
  staleHeartbeat: "stale_heartbeat",
} as const;

/** One of the error codes above. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * WebSocket close codes. 1000/1001 are a deliberate goodbye (the peer leaves at once);
 * any other close, or a silent drop, starts the resume grace period.
 * 4000–4999 are application codes (RFC 6455 §7.4.2).
 */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  internalError: 1011,
  /** The peer kept sending refused frames (bad, oversized, over rate) after warnings. */
  abuse: 4008,
  /** An admin removed the peer; it must not reconnect with the same token. */
  kicked: 4003,
  /** An admin closed the room; every peer is disconnected. */
  roomClosed: 4004,
  /** The room already holds MAX_PEERS_PER_ROOM peers; the join was refused after a `room_full` error frame. */
  roomFull: 4005,
  /** A newer socket resumed this peer's session; this older socket is closed. */
  replaced: 4009,
  /** The socket stopped answering pings and was dropped by the sweep. */
  idleTimeout: 4010,
  /** The peer left more than 2 × MAX_QUEUE_PER_PEER frames unacknowledged; its session ended. */
  queueOverflow: 4011,
} as const;

/** One of the close codes above. */
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** An HTTP problem answer (RFC 9457) with Switchboard's `code` extension member. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail?: string;
  /** Extra machine-readable facts, e.g. the setting that is missing or the field that is wrong. */
  [extension: string]: unknown;
}

/** The media type of problem answers. */
export const PROBLEM_CONTENT_TYPE = "application/problem+json";
