/**
 * The allocation table (pion/turn's allocation.Manager): allocations by 5-tuple, per-user counts for
 * quotas, EVEN-PORT reservations (RFC 8656 §7.2), relay port binding, and the single periodic sweep that
 * ends expired allocations and prunes permissions and channels. One timer for the whole table rather than
 * one per allocation, permission and channel: nothing to leak, and the hot path never touches a timer.
 */
import { randomBytes } from "node:crypto";
import type { UsageRecord } from "../events.ts";
import { RESERVATION_LIFETIME_SECONDS } from "../stun/constants.ts";
import type { DatagramSocket } from "../transports/datagram.ts";
import type { Allocation } from "./allocation.ts";
import type { PortAllocator } from "./port-allocator.ts";
import type { RelayContext } from "./relay-context.ts";

/** Why an allocation ended (UsageRecord.reason). */
export type EndReason = UsageRecord["reason"];

/** Where relays of one address family bind and what address they report. */
export interface RelayEndpoint {
  family: 4 | 6;
  /** Local address relay sockets bind to (--relay-ip). */
  bindAddress: string;
  /** Address written into XOR-RELAYED-ADDRESS (--external-ip, else bindAddress). */
  reportedAddress: string;
  reportedIp: Uint8Array;
}

/** A relay socket ready for a new allocation. */
export interface RelayReady {
  socket: DatagramSocket;
  port: number;
  endpoint: RelayEndpoint;
  /** Set when the client asked EVEN-PORT with the R bit: the token for the held next port. */
  reservationToken: Buffer | null;
}

interface Reservation {
  socket: DatagramSocket;
  port: number;
  endpoint: RelayEndpoint;
  expiresAt: number;
}

/** Options of the manager. */
export interface AllocationManagerOptions {
  context: RelayContext;
  ports: PortAllocator;
  /** Called once per ended allocation, after its socket is closed. */
  onEnded(allocation: Allocation, record: UsageRecord): void;
}

/** Owns every allocation and reservation. */
export class AllocationManager {
  private readonly byFiveTuple = new Map<string, Allocation>();
  /** Allocations by reported relay address and port, for in-process relaying between them. */
  private readonly byRelay = new Map<string, Map<number, Allocation>>();
  private readonly perUser = new Map<string, number>();
  private readonly reservations = new Map<string, Reservation>();
  private readonly options: AllocationManagerOptions;

  /** An empty table. */
  constructor(options: AllocationManagerOptions) {
    this.options = options;
  }

  /** Live allocations. */
  get size(): number {
    return this.byFiveTuple.size;
  }

  /** The allocation on a 5-tuple. */
  get(fiveTupleKey: string): Allocation | undefined {
    return this.byFiveTuple.get(fiveTupleKey);
  }

  /** The live allocation reported at relay `address`:`port` (the RelayContext.localRelay lookup). */
  byRelayAddress(address: string, port: number): Allocation | undefined {
    const byPort = this.byRelay.get(address);
    return byPort === undefined ? undefined : byPort.get(port);
  }

  /** Live allocations of `user`. */
  userAllocations(user: string): number {
    return this.perUser.get(user) ?? 0;
  }

  /** Every live allocation (a snapshot, safe to end allocations while iterating). */
  list(): Allocation[] {
    return [...this.byFiveTuple.values()];
  }

  /**
   * Binds a relay socket on `endpoint`: from a reservation when `reservationToken` is given (null when
   * unknown or expired), else from the port range (null when exhausted). Both mean 508 (RFC 8656 §7.2).
   */
  async bindRelay(
    endpoint: RelayEndpoint,
    even: boolean,
    reserveNext: boolean,
    reservationToken: Buffer | null,
  ): Promise<RelayReady | null> {
    if (reservationToken !== null) {
      const key = reservationToken.toString("hex");
      const reservation = this.reservations.get(key);
      if (reservation === undefined || reservation.expiresAt <= this.options.context.clock()) return null;
      this.reservations.delete(key);
      return { socket: reservation.socket, port: reservation.port, endpoint: reservation.endpoint, reservationToken: null };
    }
    const bound = await this.options.ports.bind({ address: endpoint.bindAddress, family: endpoint.family, even, reserveNext });
    if (bound === null) return null;
    let token: Buffer | null = null;
    if (bound.reserved !== null) {
      token = randomBytes(8);
      this.reservations.set(token.toString("hex"), {
        socket: bound.reserved.socket,
        port: bound.reserved.port,
        endpoint,
        expiresAt: this.options.context.clock() + RESERVATION_LIFETIME_SECONDS * 1000,
      });
    }
    return { socket: bound.relay.socket, port: bound.relay.port, endpoint, reservationToken: token };
  }

  /** Gives back a relay socket that never became an allocation (e.g. the client left meanwhile). */
  discardRelay(relay: RelayReady): void {
    void relay.socket.close();
    this.options.ports.release(relay.endpoint.bindAddress, relay.port);
  }

  /** Registers a new allocation on its connection's 5-tuple. */
  add(allocation: Allocation): void {
    this.byFiveTuple.set(allocation.connection.fiveTupleKey, allocation);
    let byPort = this.byRelay.get(allocation.relayAddress);
    if (byPort === undefined) {
      byPort = new Map();
      this.byRelay.set(allocation.relayAddress, byPort);
    }
    byPort.set(allocation.relayPort, allocation);
    this.perUser.set(allocation.user, (this.perUser.get(allocation.user) ?? 0) + 1);
    this.options.context.counters.allocations = this.byFiveTuple.size;
    allocation.connection.attach(allocation);
  }

  /** Ends an allocation: closes and releases its socket, updates gauges, reports the usage record. */
  end(allocation: Allocation, reason: EndReason): void {
    if (allocation.ended) return;
    allocation.ended = true;
    const counters = this.options.context.counters;
    if (this.byFiveTuple.get(allocation.connection.fiveTupleKey) === allocation)
      this.byFiveTuple.delete(allocation.connection.fiveTupleKey);
    const users = (this.perUser.get(allocation.user) ?? 1) - 1;
    if (users > 0) this.perUser.set(allocation.user, users);
    else this.perUser.delete(allocation.user);
    counters.allocations = this.byFiveTuple.size;
    counters.permissions -= allocation.peers.size;
    counters.channels -= allocation.channels.size;
    allocation.close();
    this.options.ports.release(allocation.relayBindAddress, allocation.relayPort);
    allocation.connection.detach();
    const endedAt = this.options.context.clock();
    const connection = allocation.connection;
    this.options.onEnded(allocation, {
      allocationId: allocation.id,
      user: allocation.user,
      username: allocation.username,
      client: connection.source,
      relayAddress: allocation.relayAddress,
      relayPort: allocation.relayPort,
      peers: allocation.peerCount,
      bytesFromClient: allocation.bytesFromClient,
      bytesToClient: allocation.bytesToClient,
      packetsFromClient: allocation.packetsFromClient,
      packetsToClient: allocation.packetsToClient,
      startedAt: allocation.createdAt,
      endedAt,
      durationSeconds: Math.max(0, (endedAt - allocation.createdAt) / 1000),
      reason,
    });
  }

  /** Ends expired allocations (reason "expired", or "max-age" at the age cap), prunes the rest, drops stale reservations. */
  sweep(now: number, prune: boolean): void {
    for (const allocation of this.byFiveTuple.values()) {
      if (allocation.expiresAt <= now) {
        this.end(allocation, allocation.expiresAt >= allocation.maxExpiresAt ? "max-age" : "expired");
      } else if (prune) {
        allocation.prune(now);
      }
    }
    for (const [key, reservation] of this.reservations) {
      if (reservation.expiresAt <= now) this.dropReservation(key, reservation);
    }
  }

  private dropReservation(key: string, reservation: Reservation): void {
    this.reservations.delete(key);
    void reservation.socket.close();
    this.options.ports.release(reservation.endpoint.bindAddress, reservation.port);
  }

  /** Ends everything (server shutdown). */
  closeAll(reason: EndReason): void {
    for (const allocation of this.list()) this.end(allocation, reason);
    for (const [key, reservation] of this.reservations) this.dropReservation(key, reservation);
  }
}
