/**
 * One allocation (RFC 8656 §2.2, §6): a relay socket bound for a client 5-tuple, its permissions and
 * channel bindings, lifetime, usage counters and bandwidth budget. The relay hot path lives here:
 * `relayChannelData` / `relaySend` (client → peer) and `receiveFromPeer` (peer → client). Those do Map
 * lookups keyed by numbers (channel, port) or by the `rinfo.address` string Node already made, compare
 * plain numbers, and frame ChannelData to UDP clients straight into the socket's send path (one pooled
 * buffer per packet only for stream clients and Data indications); no closures, no string building, no logging.
 */
import { encodeDataIndication } from "../stun/channel-data.ts";
import { CHANNEL_COOLDOWN_SECONDS } from "../stun/constants.ts";
import type { ClientConnection } from "../transports/connection.ts";
import type { DatagramSocket } from "../transports/datagram.ts";
import { ChannelBinding } from "./channel-bind.ts";
import { PeerPermission } from "./permission.ts";
import type { RelayContext } from "./relay-context.ts";
import { TokenBucket } from "./token-bucket.ts";

/** Largest peer datagram that still fits a Data indication's 16-bit STUN length (RFC 8489 §5). */
const MAX_RELAYED_PAYLOAD = 65535 - 64;
/** Distinct peers remembered for the usage record's peer count (beyond this, the count just grows). */
const MAX_TRACKED_PEERS = 1024;

/** Everything an allocation is created with. */
export interface AllocationInit {
  id: string;
  connection: ClientConnection;
  username: string;
  user: string;
  key: Uint8Array;
  family: 4 | 6;
  relaySocket: DatagramSocket;
  /** Local address the relay socket is bound to (its port allocator key). */
  relayBindAddress: string;
  relayPort: number;
  /** Address reported in XOR-RELAYED-ADDRESS (external address when behind 1:1 NAT). */
  relayAddress: string;
  createdAt: number;
  expiresAt: number;
  /** Hard end from maxAllocationAgeSeconds (Infinity when uncapped). */
  maxExpiresAt: number;
  allocateTransactionId: Buffer;
  /** Bytes per second per direction; 0 = unlimited. */
  maxBytesPerSecond: number;
  context: RelayContext;
}

/** Outcome of a ChannelBind on the allocation (RFC 8656 §11.2). */
export type ChannelBindResult = "bound" | "refreshed" | "conflict";

/** A live allocation. */
export class Allocation {
  readonly id: string;
  readonly connection: ClientConnection;
  readonly username: string;
  readonly user: string;
  /** The long-term key the allocation was created with; verifies all its later requests. */
  readonly key: Uint8Array;
  readonly family: 4 | 6;
  readonly relaySocket: DatagramSocket;
  readonly relayBindAddress: string;
  readonly relayPort: number;
  readonly relayAddress: string;
  readonly createdAt: number;
  expiresAt: number;
  readonly maxExpiresAt: number;
  /** For answering a retransmitted Allocate with the same response (RFC 8656 §7.2). */
  readonly allocateTransactionId: Buffer;
  allocateResponse: Buffer | null = null;

  /** Permissions by peer IP text (as in `rinfo.address`). */
  readonly peers = new Map<string, PeerPermission>();
  /** Channel bindings by number, including ones cooling down after expiry. */
  readonly channels = new Map<number, ChannelBinding>();
  private readonly seenPeers = new Set<string>();
  private extraPeers = 0;

  bytesFromClient = 0;
  bytesToClient = 0;
  packetsFromClient = 0;
  packetsToClient = 0;
  ended = false;

  private readonly context: RelayContext;
  private readonly toPeerBudget: TokenBucket | null;
  private readonly toClientBudget: TokenBucket | null;

  /** Creates the allocation and starts listening on its relay socket. */
  constructor(init: AllocationInit) {
    this.id = init.id;
    this.connection = init.connection;
    this.username = init.username;
    this.user = init.user;
    this.key = init.key;
    this.family = init.family;
    this.relaySocket = init.relaySocket;
    this.relayBindAddress = init.relayBindAddress;
    this.relayPort = init.relayPort;
    this.relayAddress = init.relayAddress;
    this.createdAt = init.createdAt;
    this.expiresAt = init.expiresAt;
    this.maxExpiresAt = init.maxExpiresAt;
    this.allocateTransactionId = Buffer.from(init.allocateTransactionId);
    this.context = init.context;
    this.toPeerBudget = init.maxBytesPerSecond > 0 ? new TokenBucket(init.maxBytesPerSecond, init.createdAt) : null;
    this.toClientBudget = init.maxBytesPerSecond > 0 ? new TokenBucket(init.maxBytesPerSecond, init.createdAt) : null;
    this.relaySocket.receive(this.onPeerMessage, this.onRelayError);
  }

  /** Distinct peer addresses that ever had a permission. */
  get peerCount(): number {
    return this.seenPeers.size + this.extraPeers;
  }

  /** Permissions currently in force. */
  activePermissionCount(now: number): number {
    let count = 0;
    for (const peer of this.peers.values()) if (peer.expiresAt > now) count++;
    return count;
  }

  /** Whether `address` currently has a permission. */
  hasPermission(address: string, now: number): boolean {
    const peer = this.peers.get(address);
    return peer !== undefined && peer.expiresAt > now;
  }

  private peerEntry(address: string, ip: Uint8Array): PeerPermission {
    let peer = this.peers.get(address);
    if (peer === undefined) {
      peer = new PeerPermission(address, ip, this.context.isRelayAddress(address));
      this.peers.set(address, peer);
      this.context.counters.permissions++;
      if (!this.seenPeers.has(address)) {
        if (this.seenPeers.size < MAX_TRACKED_PEERS) this.seenPeers.add(address);
        else this.extraPeers++;
      }
    }
    return peer;
  }

  /** Installs or refreshes the permission for `address` until `expiresAt` (RFC 8656 §9). */
  installPermission(address: string, ip: Uint8Array, expiresAt: number): void {
    const peer = this.peerEntry(address, ip);
    if (expiresAt > peer.expiresAt) peer.expiresAt = expiresAt;
  }

  /** Would binding `number` to `address`:`port` conflict with an existing binding (RFC 8656 §11.2)? */
  channelConflict(number: number, address: string, port: number): boolean {
    const byNumber = this.channels.get(number);
    if (byNumber !== undefined && (byNumber.peer.address !== address || byNumber.peerPort !== port)) return true;
    const byAddress = this.peers.get(address)?.channelsByPort?.get(port);
    return byAddress !== undefined && byAddress.number !== number;
  }

  /**
   * Binds or refreshes channel `number` to `address`:`port` until `expiresAt`, and installs or refreshes
   * the peer's permission until `permissionExpiresAt` (RFC 8656 §11.2: ChannelBind does both).
   */
  bindChannel(
    number: number,
    address: string,
    ip: Uint8Array,
    port: number,
    expiresAt: number,
    permissionExpiresAt: number,
  ): ChannelBindResult {
    if (this.channelConflict(number, address, port)) return "conflict";
    this.installPermission(address, ip, permissionExpiresAt);
    const existing = this.channels.get(number);
    if (existing !== undefined) {
      existing.expiresAt = expiresAt;
      return "refreshed";
    }
    const peer = this.peers.get(address)!;
    const binding = new ChannelBinding(number, peer, port, expiresAt);
    this.channels.set(number, binding);
    if (peer.channelsByPort === null) peer.channelsByPort = new Map();
    peer.channelsByPort.set(port, binding);
    this.context.counters.channels++;
    return "bound";
  }

  /** Forgets channels past their cooldown and peers with neither a permission nor channels. */
  prune(now: number): void {
    const cooldown = CHANNEL_COOLDOWN_SECONDS * 1000;
    for (const [number, binding] of this.channels) {
      if (binding.expiresAt + cooldown <= now) {
        this.channels.delete(number);
        binding.peer.channelsByPort?.delete(binding.peerPort);
        this.context.counters.channels--;
      }
    }
    for (const [address, peer] of this.peers) {
      if (peer.expiresAt <= now && (peer.channelsByPort === null || peer.channelsByPort.size === 0)) {
        this.peers.delete(address);
        this.context.counters.permissions--;
      }
    }
  }

  /** Client → peer over a channel (RFC 8656 §12.6): drop unless bound, permitted and within budget. */
  relayChannelData(channelNumber: number, data: Buffer, offset: number, length: number): void {
    const counters = this.context.counters;
    const binding = this.channels.get(channelNumber);
    const now = this.context.clock();
    if (binding === undefined || binding.expiresAt <= now || binding.peer.expiresAt <= now) {
      counters.droppedPackets++;
      return;
    }
    this.relayTo(binding.peer, binding.peerPort, data, offset, length, now);
  }

  /** Client → peer from a Send indication (RFC 8656 §11.2): drop unless permitted and within budget. */
  relaySend(peerAddress: string, peerPort: number, data: Buffer, offset: number, length: number): void {
    const peer = this.peers.get(peerAddress);
    const now = this.context.clock();
    if (peer === undefined || peer.expiresAt <= now) {
      this.context.counters.droppedPackets++;
      return;
    }
    this.relayTo(peer, peerPort, data, offset, length, now);
  }

  /**
   * Sends from the relay socket to a permitted peer. When the peer is another allocation's relay address
   * on this same server (both clients relayed by this node: the usual case for two browsers given the
   * same TURN URL), the datagram is handed over in process: what the kernel would have delivered, from
   * this relay address and port, through the other allocation's permission and budget checks, minus two
   * system calls and a trip through the network stack.
   */
  private relayTo(peer: PeerPermission, peerPort: number, data: Buffer, offset: number, length: number, now: number): void {
    const counters = this.context.counters;
    if (this.toPeerBudget !== null && !this.toPeerBudget.take(length, now)) {
      counters.droppedPackets++;
      return;
    }
    const local = peer.local ? this.context.localRelay(peer.address, peerPort) : undefined;
    if (local !== undefined) local.receiveFromPeer(data, offset, length, this.relayAddress, this.relayPort, now);
    else this.relaySocket.send(data, offset, length, peerPort, peer.address);
    this.packetsFromClient++;
    this.bytesFromClient += length;
    counters.packetsClientToPeer++;
    counters.bytesClientToPeer += length;
  }

  /**
   * Peer → client (RFC 8656 §11.3, §12.6): only from a permitted IP; as ChannelData when a channel is
   * bound to that peer address and port, else as a Data indication.
   */
  receiveFromPeer(data: Buffer, offset: number, length: number, peerAddress: string, peerPort: number, now: number): void {
    const counters = this.context.counters;
    const peer = this.peers.get(peerAddress);
    if (peer === undefined || peer.expiresAt <= now || length > MAX_RELAYED_PAYLOAD || this.ended) {
      counters.droppedPackets++;
      return;
    }
    if (this.toClientBudget !== null && !this.toClientBudget.take(length, now)) {
      counters.droppedPackets++;
      return;
    }
    const channels = peer.channelsByPort;
    const binding = channels === null ? undefined : channels.get(peerPort);
    const connection = this.connection;
    const sent =
      binding !== undefined && binding.expiresAt > now
        ? connection.sendChannelData(binding.number, data, offset, length)
        : connection.send(encodeDataIndication(peer.ip, peerPort, data, offset, offset + length));
    if (!sent) {
      counters.droppedPackets++;
      return;
    }
    this.packetsToClient++;
    this.bytesToClient += length;
    counters.packetsPeerToClient++;
    counters.bytesPeerToClient += length;
  }

  /** The relay socket's listener, bound once per allocation (no per-packet closure). Error boundary. */
  private readonly onPeerMessage = (data: Buffer, offset: number, length: number, address: string, port: number): void => {
    try {
      this.receiveFromPeer(data, offset, length, address, port, this.context.clock());
    } catch (error) {
      this.context.reportError("relay socket message", error);
    }
  };

  private readonly onRelayError = (error: Error): void => {
    this.context.reportError("relay socket", error);
  };

  /** Closes the relay socket; the caller releases the port and updates gauges. */
  close(): void {
    void this.relaySocket.close();
  }
}
