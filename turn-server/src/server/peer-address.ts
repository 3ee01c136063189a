/**
 * Peer address checks shared by CreatePermission and ChannelBind (RFC 8656 §9.2, §11.2): every
 * XOR-PEER-ADDRESS must decode (400), match the allocation's family (443) and pass the PeerPolicy (403).
 * All addresses are judged before anything is installed: a request installs all of them or none.
 */
import type { Allocation } from "../allocation/allocation.ts";
import { Attr } from "../stun/constants.ts";
import { parseIp } from "../stun/ip.ts";
import { findAttributes, readXorAddress, type StunMessage } from "../stun/message.ts";
import type { ClientConnection } from "../transports/connection.ts";
import type { ServerContext } from "./context.ts";

/** A peer transport address that passed the checks. */
export interface CheckedPeer {
  address: string;
  ip: Uint8Array;
  port: number;
}

/** The checked peers, or the error code to answer with. */
export type PeerCheck = { ok: true; peers: CheckedPeer[] } | { ok: false; code: 400 | 403 | 443; reason?: string };

/** Checks every XOR-PEER-ADDRESS of `request` against `allocation` and the policy. */
export function checkPeerAddresses(
  context: ServerContext,
  connection: ClientConnection,
  allocation: Allocation,
  request: StunMessage,
): PeerCheck {
  const attributes = findAttributes(request, Attr.XorPeerAddress);
  if (attributes.length === 0) return { ok: false, code: 400, reason: "XOR-PEER-ADDRESS is required" };
  const peers: CheckedPeer[] = [];
  for (const attribute of attributes) {
    const peer = readXorAddress(request, attribute);
    const ip = peer ? parseIp(peer.address) : null;
    if (peer === null || ip === null) return { ok: false, code: 400, reason: "malformed XOR-PEER-ADDRESS" };
    if (peer.family !== allocation.family) {
      context.counters.deniedPeers++;
      context.emit("peer-denied", { client: connection.source, peerAddress: peer.address, code: 443 });
      return { ok: false, code: 443 };
    }
    if (context.options.peerPolicy(peer.address) !== "allow") {
      context.counters.deniedPeers++;
      context.emit("peer-denied", { client: connection.source, peerAddress: peer.address, code: 403 });
      return { ok: false, code: 403, reason: "Forbidden peer address" };
    }
    peers.push({ address: peer.address, ip, port: peer.port });
  }
  return { ok: true, peers };
}
