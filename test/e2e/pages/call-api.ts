/**
 * What the e2e call page (call.ts, in Chromium) offers the tests (Node) on `window.e2e`: types only, so
 * both sides compile against one definition.
 */

/** Which TURN URLs of the /v1/ice answer the page keeps (the rest are dropped before Chromium sees them). */
export type TurnTransport = "udp" | "tcp" | "tls" | "all";

/** Options of `window.e2e.join`. */
export interface JoinOptions {
  room: string;
  /** User id for the development token (`GET /dev/token?room=&user=`). */
  user: string;
  /** Relay-only (`iceTransportPolicy: "relay"`). */
  forceRelay: boolean;
  /** Keep only these TURN URLs: `turn:…?transport=udp`, `turn:…?transport=tcp` or `turns:`; `all` keeps every URL. */
  transport: TurnTransport;
  /** PeerConnection timeouts, to keep restarts inside a test's budget. */
  peerOptions?: { disconnectedTimeoutMs?: number; restartTimeoutMs?: number };
}

/** One ICE candidate as getStats reports it. */
export interface CandidateInfo {
  candidateType?: string;
  address?: string;
  port?: number;
  protocol?: string;
  relayProtocol?: string;
  url?: string;
}

/** One candidate pair as getStats reports it. */
export interface PairInfo {
  state?: string;
  nominated?: boolean;
  local?: CandidateInfo;
  remote?: CandidateInfo;
  requestsSent?: number;
  responsesReceived?: number;
}

/** The connection to one remote peer, from a fresh getStats(). */
export interface PeerSnapshot {
  peerId: string;
  connectionState: string;
  iceConnectionState: string;
  signalingState: string;
  /** The selected candidate pair (transport.selectedCandidatePairId). */
  selected?: PairInfo;
  /** Every candidate pair. */
  pairs: PairInfo[];
  /** Every local candidate gathered. */
  localCandidates: CandidateInfo[];
  /** Video frames decoded so far on this connection (all inbound video). */
  framesDecoded: number;
  /** ICE restarts this connection began. */
  restarts: number;
}

/** The page's state. */
export interface CallSnapshot {
  peerId?: string;
  roomState?: string;
  /** nodeId of the ICE config in use. */
  iceNodeId?: string;
  peers: PeerSnapshot[];
}

/** Something that happened in the page, with the page's clock. */
export interface PageEvent {
  at: number;
  kind: string;
  detail: string;
}

/** `window.e2e`. */
export interface E2eHandle {
  join(options: JoinOptions): Promise<{ peerId: string }>;
  snapshot(): Promise<CallSnapshot>;
  /** Every `/v1/ice` request URL the page made (to see `?exclude=`). */
  iceRequests: string[];
  /** Room, connection and restart events, oldest first. */
  events: PageEvent[];
  leave(): Promise<void>;
}
