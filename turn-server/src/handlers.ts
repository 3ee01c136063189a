/**
 * The parts of the relay an operator swaps, as small function types (pion/turn's AuthHandler,
 * PermissionHandler, QuotaHandler). Defaults: REST-secret auth (auth.ts), the deny-by-default peer
 * policy (peer-policy.ts), the configured quotas (quota.ts). Tests plug in their own.
 */

/** Transport a client reached the relay over. */
export type ClientTransport = "udp" | "tcp" | "tls";

/** Where a request came from. */
export interface ClientSource {
  address: string;
  port: number;
  transport: ClientTransport;
}

/** What an AuthHandler grants: the long-term key and the user it belongs to. */
export interface AuthGrant {
  /** RFC 8489 §9.2.2 long-term key: MD5(username ":" realm ":" password), 16 bytes. */
  key: Uint8Array;
  /** The user for quotas and usage records (for REST usernames "<expiry>:<user>", the part after the colon). */
  user: string;
  /**
   * Further keys to try, in order, when `key` does not verify the request's MESSAGE-INTEGRITY (secret
   * rotation: one key per accepted secret). The key that verifies is the one kept for the allocation.
   */
  alternateKeys?: Uint8Array[];
}

/**
 * Returns the key for `username`, or null to refuse with 401. Called when an allocation is created
 * (and for requests that carry credentials but match no allocation); requests on an existing allocation
 * use the key stored with it, so a credential that expires or a secret rotated out breaks no live call.
 */
export type AuthHandler = (username: string, realm: string, source: ClientSource) => AuthGrant | null | Promise<AuthGrant | null>;

/** Decides whether the relay may send to `peerAddress` (any textual IPv4/IPv6 form). */
export type PeerPolicy = (peerAddress: string) => "allow" | "deny";

/** Current usage a quota decision is made on. */
export interface QuotaUsage {
  /** Live allocations of this user, not counting the one asked for. */
  userAllocations: number;
  /** Live allocations on this node, not counting the one asked for. */
  totalAllocations: number;
}

/** Answers whether `user` may create one more allocation: "ok", or the STUN error to refuse with. */
export type QuotaHandler = (user: string, usage: QuotaUsage) => "ok" | { code: 486 | 508; reason: string };

/** A pino-compatible logger; the core never imports a logging library. */
export interface Logger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

/** A logger that drops everything (the default). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
