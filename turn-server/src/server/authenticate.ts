/**
 * Long-term credential check (RFC 8489 §9.2.4, RFC 8656 §5) for every TURN request except Binding.
 * - No integrity → 401 with REALM and a fresh NONCE (the normal first round trip; rate-limited per address).
 * - A request on an existing allocation is checked with the key stored in the allocation, never the
 *   AuthHandler, so expiring credentials and rotated secrets break no live call; another username → 441.
 * - Otherwise the AuthHandler supplies the key(s); a refusal or a wrong MESSAGE-INTEGRITY → 401, counted
 *   against the source address, which is ignored once it has failed too often.
 * - A stale or foreign nonce with valid integrity → 438 with a new nonce, signed.
 */
import type { Allocation } from "../allocation/allocation.ts";
import { Attr, Method } from "../stun/constants.ts";
import { type IntegrityAlgorithm, verifyIntegrity } from "../stun/integrity.ts";
import { readString, type StunMessage } from "../stun/message.ts";
import type { ClientConnection } from "../transports/connection.ts";
import type { ServerContext } from "./context.ts";
import { type Signing, sendError } from "./respond.ts";

/** A request that passed the credential check. */
export interface Authenticated {
  key: Uint8Array;
  algorithm: IntegrityAlgorithm;
  username: string;
  user: string;
  /** The allocation on the request's 5-tuple, if any. */
  allocation: Allocation | undefined;
}

/** 401 with REALM and NONCE, unless this address has used up its challenge budget (then silence). */
export function challenge(context: ServerContext, connection: ClientConnection, request: StunMessage): void {
  if (!context.challengeLimiter.take(connection.remoteAddress)) {
    context.counters.droppedPackets++;
    return;
  }
  const nonce = context.nonces.issue(connection.remoteAddress);
  sendError(context, connection, request, 401, null, (builder) => {
    builder.addString(Attr.Realm, context.options.realm).addString(Attr.Nonce, nonce);
  });
}

function refuse(context: ServerContext, connection: ClientConnection, request: StunMessage, username: string, reason: string): void {
  context.counters.authFailures++;
  context.emit("auth-failure", { client: connection.source, username, reason });
  context.failureLimiter.take(connection.remoteAddress);
  challenge(context, connection, request);
}

/** Checks `request`'s credentials; resolves null after answering (or dropping) when they do not pass. */
export async function authenticate(
  context: ServerContext,
  connection: ClientConnection,
  request: StunMessage,
): Promise<Authenticated | null> {
  const integrity = request.integritySha256 ?? request.integrity;
  if (integrity === null) {
    challenge(context, connection, request);
    return null;
  }
  const username = readString(request, Attr.Username);
  const realm = readString(request, Attr.Realm);
  const nonce = readString(request, Attr.Nonce);
  if (username === undefined || realm === undefined || nonce === undefined) {
    sendError(context, connection, request, 400, null, undefined, "USERNAME, REALM and NONCE are required with MESSAGE-INTEGRITY");
    return null;
  }
  const algorithm: IntegrityAlgorithm = request.integritySha256 ? "sha256" : "sha1";
  const address = connection.remoteAddress;
  const existing = context.allocations.get(connection.fiveTupleKey);
  let candidates: Uint8Array[];
  let user: string;
  if (existing !== undefined && existing.username === username) {
    candidates = [existing.key];
    user = existing.user;
  } else if (existing !== undefined && request.method !== Method.Allocate) {
    // RFC 8656 §5: requests on an allocation must use the credentials that created it.
    context.counters.authFailures++;
    context.emit("auth-failure", { client: connection.source, username, reason: "wrong-credentials" });
    sendError(context, connection, request, 441, null);
    return null;
  } else {
    if (!context.failureLimiter.allows(address)) {
      context.counters.droppedPackets++;
      return null;
    }
    if (realm !== context.options.realm) {
      refuse(context, connection, request, username, "wrong-realm");
      return null;
    }
    let grant: Awaited<ReturnType<typeof context.options.auth>>;
    try {
      grant = await context.options.auth(username, realm, connection.source);
    } catch (error) {
      context.reportError("auth handler", error);
      sendError(context, connection, request, 500, null);
      return null;
    }
    if (context.closed || !connection.open) return null;
    if (grant === null) {
      refuse(context, connection, request, username, "refused");
      return null;
    }
    candidates = grant.alternateKeys ? [grant.key, ...grant.alternateKeys] : [grant.key];
    user = grant.user;
  }
  const key = candidates.find((candidate) => verifyIntegrity(algorithm, candidate, request.raw, integrity.offset, integrity.length));
  if (key === undefined) {
    refuse(context, connection, request, username, "bad-integrity");
    return null;
  }
  if (!context.nonces.isValid(nonce, address)) {
    const fresh = context.nonces.issue(address);
    sendError(context, connection, request, 438, { key, algorithm }, (builder) => {
      builder.addString(Attr.Realm, context.options.realm).addString(Attr.Nonce, fresh);
    });
    return null;
  }
  return { key, algorithm, username, user, allocation: context.allocations.get(connection.fiveTupleKey) };
}

/** An authenticated request on the client's existing allocation, with the signing key for its answers. */
export interface AuthenticatedAllocation {
  signing: Signing;
  allocation: Allocation;
}

/**
 * The credential check for requests that act on an existing allocation (Refresh, CreatePermission,
 * ChannelBind): null after answering the refusal, or 437 Allocation Mismatch when the 5-tuple has none
 * (RFC 8656 §7.2, §9.2, §11.2).
 */
export async function authenticateAllocation(
  context: ServerContext,
  connection: ClientConnection,
  request: StunMessage,
): Promise<AuthenticatedAllocation | null> {
  const auth = await authenticate(context, connection, request);
  if (auth === null) return null;
  const signing: Signing = { key: auth.key, algorithm: auth.algorithm };
  if (auth.allocation === undefined) {
    sendError(context, connection, request, 437, signing);
    return null;
  }
  return { signing, allocation: auth.allocation };
}
