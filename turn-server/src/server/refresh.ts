/**
 * Refresh (RFC 8656 §8.2): extends the allocation's lifetime (clamped to the maximum and to the optional
 * age cap), or deletes it when LIFETIME is 0. Verified with the allocation's own key, so it keeps working
 * after the credential that created the allocation has expired.
 */
import { Attr } from "../stun/constants.ts";
import { readBytes, readUint32, type StunMessage } from "../stun/message.ts";
import type { ClientConnection } from "../transports/connection.ts";
import { authenticateAllocation } from "./authenticate.ts";
import type { ServerContext } from "./context.ts";
import { grantedLifetimeSeconds, remainingSeconds } from "./lifetime.ts";
import { sendError, sendSuccess } from "./respond.ts";

/** Handles a Refresh request. */
export async function handleRefresh(context: ServerContext, connection: ClientConnection, request: StunMessage): Promise<void> {
  const session = await authenticateAllocation(context, connection, request);
  if (session === null) return;
  const { signing, allocation } = session;
  const family = readBytes(request, Attr.RequestedAddressFamily);
  if (family !== undefined && family[0] !== (allocation.family === 4 ? 0x01 : 0x02)) {
    sendError(context, connection, request, 443, signing);
    return;
  }
  const requested = readUint32(request, Attr.Lifetime);
  if (requested === null) {
    sendError(context, connection, request, 400, signing, undefined, "malformed LIFETIME");
    return;
  }
  const now = context.clock();
  if (requested === 0) {
    context.allocations.end(allocation, "refresh-zero");
    sendSuccess(context, connection, request, signing, (builder) => builder.addUint32(Attr.Lifetime, 0));
    return;
  }
  const lifetime = grantedLifetimeSeconds(requested, context.options);
  allocation.expiresAt = Math.min(now + lifetime * 1000, allocation.maxExpiresAt);
  sendSuccess(context, connection, request, signing, (builder) =>
    builder.addUint32(Attr.Lifetime, remainingSeconds(allocation.expiresAt, now)),
  );
}
