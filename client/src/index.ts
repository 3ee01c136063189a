/**
 * Switchboard browser/Node client. Signaling (`Room`, `getIceServers`, `IceConfigProvider`) runs in
 * browsers and Node ≥ 22; `PeerConnection`, `QualityMonitor` and `joinCall` need WebRTC (a browser).
 */

/** Reconnect backoff with jitter. */
export { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from "./backoff.ts";
/** Full-mesh call facade. */
export { Call, type CallEvents, type CallPeer, type JoinCallOptions, joinCall, type SharedQuality } from "./call.ts";
/** Errors with codes. */
export { type ClientErrorCode, SwitchboardError } from "./client-error.ts";
/** Typed events. */
export { Emitter, type Listener } from "./emitter.ts";
/** ICE configuration from /v1/ice. */
export {
  DEFAULT_RENEW_FRACTION,
  getIceServers,
  type IceConfig,
  type IceConfigEvents,
  IceConfigProvider,
  type IceConfigProviderOptions,
  type IceRequestOptions,
  nodeIdForUrl,
} from "./ice.ts";
/** Perfect-negotiation peer connection. */
export {
  DATA_CHANNEL_LABEL,
  isPolite,
  PeerConnection,
  type PeerConnectionEvents,
  type PeerConnectionOptions,
  type PeerSignal,
  type RestartHint,
} from "./peer-connection.ts";
/** Connection quality from getStats(). */
export {
  type CandidateType,
  QualityMonitor,
  type QualityReport,
  type RelayProtocol,
  selectedCandidatePair,
  summarizeStats,
} from "./quality.ts";
/** Room signaling connection. */
export {
  CLIENT_RECONNECT_CLOSE_CODE,
  Room,
  type RoomEvents,
  type RoomOptions,
  type RoomPeer,
  type RoomState,
  type RoomWelcome,
} from "./room.ts";
/** Token sources. */
export type { TokenSource } from "./token-source.ts";
