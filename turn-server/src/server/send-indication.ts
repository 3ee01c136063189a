/**
 * Send indication (RFC 8656 §11.2): relays DATA to XOR-PEER-ADDRESS from the allocation's relay socket.
 * Indications get no answer, so every failure is a silent, counted drop: no allocation, missing or bad
 * attributes, unknown comprehension-required attributes, DONT-FRAGMENT (we cannot set DF; §11.2 says to
 * treat it as unknown), another address family, or no permission for the peer.
 */
import { Attr } from "../stun/constants.ts";
import type { StunMessage } from "../stun/message.ts";
import { decodeXorAddress } from "../stun/xor-address.ts";
import type { ClientConnection } from "../transports/connection.ts";
import type { ServerContext } from "./context.ts";

/** Handles a Send indication. */
export function handleSendIndication(context: ServerContext, connection: ClientConnection, indication: StunMessage): void {
  const allocation = connection.allocation;
  if (allocation === null || indication.unknownRequired.length > 0 || indication.malformed) {
    context.counters.droppedPackets++;
    return;
  }
  let peerOffset = -1;
  let peerLength = 0;
  let dataOffset = -1;
  let dataLength = 0;
  for (const attribute of indication.attributes) {
    if (attribute.type === Attr.XorPeerAddress && peerOffset < 0) {
      peerOffset = attribute.offset;
      peerLength = attribute.length;
    } else if (attribute.type === Attr.Data && dataOffset < 0) {
      dataOffset = attribute.offset;
      dataLength = attribute.length;
    } else if (attribute.type === Attr.DontFragment) {
      context.counters.droppedPackets++;
      return;
    }
  }
  const peer = peerOffset < 0 || dataOffset < 0 ? null : decodeXorAddress(indication.raw, peerOffset, peerLength);
  if (peer === null || peer.family !== allocation.family) {
    context.counters.droppedPackets++;
    return;
  }
  allocation.relaySend(peer.address, peer.port, indication.raw, dataOffset, dataLength);
}
