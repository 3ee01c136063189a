/** Options of the TURN server core; each field says its default. Validated once by createTurnServer. */
import type { AuthHandler, ClientTransport, Logger, PeerPolicy, QuotaHandler } from "./handlers.ts";
import type { DatagramIo } from "./transports/datagram.ts";

/** One listening socket for clients. */
export interface ListenerOptions {
  transport: ClientTransport;
  /** IP address to bind, e.g. "0.0.0.0", "127.0.0.1", "::". */
  address: string;
  /** Port; 0 picks a free one (tests). */
  port: number;
  /**
   * SO_REUSEPORT, so several processes (one per core) can share this port; each must then own a disjoint
   * relay port range. Default false (the bind is exclusive).
   */
  reusePort?: boolean;
}

/** Everything the core needs; cli/config builds this from flags and env. */
export interface TurnServerOptions {
  /** Realm sent in 401 answers. Required. */
  realm: string;
  /** Client-facing listeners. Required, at least one. */
  listeners: ListenerOptions[];
  /** PEM certificate chain and key; required when any listener is "tls". */
  tls?: { cert: string | Uint8Array; key: string | Uint8Array };
  /** Local addresses relay sockets bind to, one per family at most (--relay-ip). Required. */
  relayAddresses: string[];
  /** Public address reported in XOR-RELAYED-ADDRESS when behind 1:1 NAT (--external-ip). Default: the relay address. */
  externalAddress?: string;
  /** Relay port range (--min-port/--max-port). Default 49152–65535. */
  minPort?: number;
  maxPort?: number;
  /** Who may allocate. Required. */
  auth: AuthHandler;
  /** Which peers may be relayed to. Required (use peer-policy.ts's default). */
  peerPolicy: PeerPolicy;
  /** Allocation quotas. Default: unlimited. */
  quota?: QuotaHandler;
  /** Per-allocation bandwidth cap in bytes/s, each direction (--max-bps). Default 0 = unlimited. */
  maxBytesPerSecond?: number;
  /** Permissions per allocation. Default 64. */
  maxPermissionsPerAllocation?: number;
  /** Longest lifetime a client may ask for, seconds. Default 3600. */
  maxLifetimeSeconds?: number;
  /** Lifetime when the client asks for none, seconds (RFC 8656 §3.2). Default 600. */
  defaultLifetimeSeconds?: number;
  /** Hard cap on an allocation's age regardless of refreshes, seconds. Default 0 = none. */
  maxAllocationAgeSeconds?: number;
  /** Secret for stateless nonces. Default: random per process. */
  nonceSecret?: string;
  /** Nonce lifetime before 438 Stale Nonce, seconds. Default 600. */
  nonceLifetimeSeconds?: number;
  /** SOFTWARE attribute value. Default "switchboard-turn". */
  software?: string;
  /** Logger. Default silent. */
  logger?: Logger;
  /**
   * Also accept RFC 5766's channel numbers 0x5000–0x7FFF in ChannelBind (coturn accepts them, and its
   * turnutils_uclient picks from 0x4000–0x7FFF). Default false: RFC 8656 §12 allows 0x4000–0x4FFF only.
   */
  legacyChannelNumbers?: boolean;
  /**
   * UDP sockets for the client listeners and every relay socket: Node's dgram (transports/dgram-io.ts) or the
   * batched native path (transports/native-io.ts, `loadNativeIo()`). Default: dgram. The CLI's `--udp-io`
   * picks native when it is built.
   */
  udpIo?: DatagramIo;
  /** Milliseconds clock for lifetimes, nonces and budgets. Default Date.now; tests inject one to jump ahead. */
  clock?: () => number;
}
