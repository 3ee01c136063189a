/**
 * ChannelBind (RFC 8656 §11.2): binds a channel number 0x4000–0x4FFF (to 0x7FFF with legacyChannelNumbers,
 * RFC 5766) to one peer transport address for 600 s and installs/refreshes that peer's permission. 400 for a missing or out-of-range number, or when
 * either side is already bound to something else (including during the 5-minute cooldown after expiry).
 */
import { Attr, CHANNEL_LIFETIME_SECONDS, MIN_CHANNEL_NUMBER, PERMISSION_LIFETIME_SECONDS } from "../stun/constants.ts";
import { findAttribute, findAttributes, type StunMessage } from "../stun/message.ts";
import type { ClientConnection } from "../transports/connection.ts";
import { authenticateAllocation } from "./authenticate.ts";
import type { ServerContext } from "./context.ts";
import { checkPeerAddresses } from "./peer-address.ts";
import { sendError, sendSuccess } from "./respond.ts";

/** Handles a ChannelBind request. */
export async function handleChannelBind(context: ServerContext, connection: ClientConnection, request: StunMessage): Promise<void> {
  const session = await authenticateAllocation(context, connection, request);
  if (session === null) return;
  const { signing, allocation } = session;
  const channelAttribute = findAttribute(request, Attr.ChannelNumber);
  if (channelAttribute === undefined || channelAttribute.length !== 4) {
    sendError(context, connection, request, 400, signing, undefined, "CHANNEL-NUMBER is required");
    return;
  }
  const number = request.raw.readUInt16BE(channelAttribute.offset);
  const maxChannel = context.options.maxChannelNumber;
  if (number < MIN_CHANNEL_NUMBER || number > maxChannel) {
    sendError(
      context,
      connection,
      request,
      400,
      signing,
      undefined,
      `channel number must be 0x4000-0x${maxChannel.toString(16).toUpperCase()}`,
    );
    return;
  }
  if (findAttributes(request, Attr.XorPeerAddress).length !== 1) {
    sendError(context, connection, request, 400, signing, undefined, "exactly one XOR-PEER-ADDRESS is required");
    return;
  }
  const checked = checkPeerAddresses(context, connection, allocation, request);
  if (!checked.ok) {
    sendError(context, connection, request, checked.code, signing, undefined, checked.reason);
    return;
  }
  const peer = checked.peers[0]!;
  const now = context.clock();
  if (
    !allocation.hasPermission(peer.address, now) &&
    allocation.activePermissionCount(now) + 1 > context.options.maxPermissionsPerAllocation
  ) {
    context.counters.quotaRefusals++;
    context.emit("quota-refused", { client: connection.source, user: allocation.user, code: 508 });
    sendError(context, connection, request, 508, signing, undefined, "too many permissions on this allocation");
    return;
  }
  const result = allocation.bindChannel(
    number,
    peer.address,
    peer.ip,
    peer.port,
    now + CHANNEL_LIFETIME_SECONDS * 1000,
    now + PERMISSION_LIFETIME_SECONDS * 1000,
  );
  if (result === "conflict") {
    sendError(context, connection, request, 400, signing, undefined, "channel or peer address already bound differently");
    return;
  }
  sendSuccess(context, connection, request, signing);
}
