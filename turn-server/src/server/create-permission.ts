/**
 * CreatePermission (RFC 8656 §9.2): installs or refreshes a 300 s permission for each XOR-PEER-ADDRESS's
 * IP, after every address passed the family check and the peer policy. The per-allocation cap on
 * permissions answers 508 (Insufficient Capacity).
 */
import { PERMISSION_LIFETIME_SECONDS } from "../stun/constants.ts";
import type { StunMessage } from "../stun/message.ts";
import type { ClientConnection } from "../transports/connection.ts";
import { authenticateAllocation } from "./authenticate.ts";
import type { ServerContext } from "./context.ts";
import { checkPeerAddresses } from "./peer-address.ts";
import { sendError, sendSuccess } from "./respond.ts";

/** Handles a CreatePermission request. */
export async function handleCreatePermission(context: ServerContext, connection: ClientConnection, request: StunMessage): Promise<void> {
  const session = await authenticateAllocation(context, connection, request);
  if (session === null) return;
  const { signing, allocation } = session;
  const checked = checkPeerAddresses(context, connection, allocation, request);
  if (!checked.ok) {
    sendError(context, connection, request, checked.code, signing, undefined, checked.reason);
    return;
  }
  const now = context.clock();
  const added = new Set(checked.peers.filter((peer) => !allocation.hasPermission(peer.address, now)).map((peer) => peer.address));
  if (added.size > 0 && allocation.activePermissionCount(now) + added.size > context.options.maxPermissionsPerAllocation) {
    context.counters.quotaRefusals++;
    context.emit("quota-refused", { client: connection.source, user: allocation.user, code: 508 });
    sendError(context, connection, request, 508, signing, undefined, "too many permissions on this allocation");
    return;
  }
  const expiresAt = now + PERMISSION_LIFETIME_SECONDS * 1000;
  for (const peer of checked.peers) allocation.installPermission(peer.address, peer.ip, expiresAt);
  sendSuccess(context, connection, request, signing);
}
