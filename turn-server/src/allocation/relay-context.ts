/** What every allocation shares with the server: the clock, the counters, the error boundary's reporter. */
import type { TurnStats } from "../events.ts";

/** The numeric part of TurnStats, mutated in place (plain numbers: no per-packet allocation). */
export type TurnCounters = Omit<TurnStats, "draining" | "udpSendFailures">;

/** Zeroed counters. */
export function createCounters(): TurnCounters {
  return {
    allocations: 0,
    permissions: 0,
    channels: 0,
    packetsClientToPeer: 0,
    packetsPeerToClient: 0,
    bytesClientToPeer: 0,
    bytesPeerToClient: 0,
    authFailures: 0,
    deniedPeers: 0,
    quotaRefusals: 0,
    droppedPackets: 0,
  };
}

/** Shared services of the relay. */
export interface RelayContext {
  /** Milliseconds clock (Date.now unless a test injects one). */
  readonly clock: () => number;
  readonly counters: TurnCounters;
  /** Reports an error caught at an error boundary ("internal-error" event). */
  reportError(where: string, error: unknown): void;
  /** True when `address` is a relay address this server reports (XOR-RELAYED-ADDRESS). */
  isRelayAddress(address: string): boolean;
  /** The live allocation whose reported relay address is `address`:`port`, if any. */
  localRelay(address: string, port: number): LocalRelayTarget | undefined;
}

/** What a same-server relay delivers into (Allocation.receiveFromPeer). */
export interface LocalRelayTarget {
  receiveFromPeer(data: Buffer, offset: number, length: number, peerAddress: string, peerPort: number, now: number): void;
}
