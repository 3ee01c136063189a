/**
 * A permission (RFC 8656 §9) for one peer IP address: while it lives, data from that IP (any port) is
 * relayed to the client and data to it is relayed to the peer. It also holds the channels bound to ports
 * of that IP, so a datagram from a peer needs one Map lookup by `rinfo.address` and one by port.
 */
import type { ChannelBinding } from "./channel-bind.ts";

/** One peer IP's permission and channels. */
export class PeerPermission {
  /** Peer IP as Node renders it in `rinfo.address` (the lookup key). */
  readonly address: string;
  /** The same address as bytes, for XOR-PEER-ADDRESS in Data indications. */
  readonly ip: Uint8Array;
  /** When the permission ends (ms); 0 when only kept alive by channels. RFC 8656 §9: 300 s from install/refresh. */
  expiresAt = 0;
  /** Channels bound to ports of this IP, created on first bind. */
  channelsByPort: Map<number, ChannelBinding> | null = null;
  /** The peer IP is one of this server's own relay addresses (decided once, see Allocation.relayTo). */
  readonly local: boolean;

  /** A permission entry for `address` (not yet installed: expiresAt 0). */
  constructor(address: string, ip: Uint8Array, local: boolean) {
    this.address = address;
    this.ip = ip;
    this.local = local;
  }

  /** True while data may flow. */
  isActive(now: number): boolean {
    return this.expiresAt > now;
  }
}
