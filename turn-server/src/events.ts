/**
 * What the core reports to the outside (metrics, logs, usage records) without importing them:
 * low-rate events, plus counters read on demand so the per-packet path emits nothing.
 */
import type { ClientSource } from "./handlers.ts";

/** One usage record per ended allocation, for billing and abuse handling. */
export interface UsageRecord {
  allocationId: string;
  user: string;
  username: string;
  client: ClientSource;
  relayAddress: string;
  relayPort: number;
  /** Distinct peer addresses that had permissions. */
  peers: number;
  bytesFromClient: number;
  bytesToClient: number;
  packetsFromClient: number;
  packetsToClient: number;
  startedAt: number;
  endedAt: number;
  durationSeconds: number;
  /** "connection-closed": the client's TCP/TLS connection closed (the allocation is tied to it, RFC 8656 §3.1). */
  reason: "refresh-zero" | "expired" | "max-age" | "shutdown" | "error" | "connection-closed";
}

/** Events the server emits (node:events EventEmitter, typed). */
export interface TurnEvents {
  "allocation-created": [{ allocationId: string; user: string; client: ClientSource; relayAddress: string; relayPort: number }];
  "allocation-ended": [UsageRecord];
  "auth-failure": [{ client: ClientSource; username?: string; reason: string }];
  "peer-denied": [{ client: ClientSource; peerAddress: string; code: 403 | 443 }];
  "quota-refused": [{ client: ClientSource; user: string; code: 486 | 508 }];
  /** An error caught at an error boundary; the process keeps running. */
  "internal-error": [{ where: string; error: unknown }];
  /** Draining and the last allocation has ended. */
  drained: [];
}

/** Monotonic counters and gauges, read by metrics on scrape. */
export interface TurnStats {
  allocations: number;
  permissions: number;
  channels: number;
  packetsClientToPeer: number;
  packetsPeerToClient: number;
  bytesClientToPeer: number;
  bytesPeerToClient: number;
  authFailures: number;
  deniedPeers: number;
  quotaRefusals: number;
  /** Packets dropped: malformed, no permission, over bandwidth. */
  droppedPackets: number;
  /** Datagrams the kernel refused to send (native UDP path; DatagramIo.sendFailures). */
  udpSendFailures: number;
  draining: boolean;
}
