/**
 * What the server sees of a client, whatever the transport: its 5-tuple (RFC 8656 §2: client address
 * and port, server address and port, transport) and a way to send it whole frames.
 */
import type { Allocation } from "../allocation/allocation.ts";
import type { ClientSource, ClientTransport } from "../handlers.ts";

/** One client 5-tuple. UDP: a (listener, source address, port); TCP/TLS: one connection. */
export interface ClientConnection {
  readonly transport: ClientTransport;
  /** Client address as the client is known (IPv4-mapped addresses of dual-stack sockets unmapped). */
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** The 5-tuple as one string, computed once: the allocation table key. */
  readonly fiveTupleKey: string;
  /** For handlers and events. */
  readonly source: ClientSource;
  /** The allocation on this 5-tuple, if any (the hot path reads it directly). */
  allocation: Allocation | null;
  /** Sends one whole STUN message or ChannelData frame; returns false when dropped (closed or backlogged). */
  send(frame: Buffer): boolean;
  /**
   * Sends `data[offset, offset + length)` as ChannelData on `channel` (RFC 8656 §12.4; padded on streams,
   * §12.5); false when dropped. The peer → client hot path.
   */
  sendChannelData(channel: number, data: Buffer, offset: number, length: number): boolean;
  /** An allocation now lives on this 5-tuple (UDP: route this source's datagrams to it). */
  attach(allocation: Allocation): void;
  /** The allocation ended. */
  detach(): void;
  /** False once a stream connection closed. */
  readonly open: boolean;
}
