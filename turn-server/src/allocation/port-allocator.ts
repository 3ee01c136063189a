/**
 * Relay ports (RFC 8656 §7.2: the server picks the relayed transport address) from the configured range
 * (`--min-port`/`--max-port`, default 49152–65535, the IANA dynamic range). Starts at a random port
 * (RFC 8656 §7.2 / RFC 6056: unpredictable ports), skips ports this process holds, and gives up after a
 * bounded number of bind failures (ports taken by other processes). Null means the range is exhausted → 508.
 */
import { randomInt } from "node:crypto";
import type { BindDatagram, DatagramSocket } from "../transports/datagram.ts";

/** Kernel buffer sizes for relay sockets (capped by net.core.rmem_max / wmem_max). */
const RELAY_SOCKET_BUFFER_BYTES = 1 << 20;
/** Bind failures tolerated per allocation before answering 508. */
const MAX_BIND_ATTEMPTS = 64;

/** A bound relay socket. */
export interface BoundRelay {
  socket: DatagramSocket;
  port: number;
}

/** What to bind: parity and whether to hold the next port too (EVEN-PORT with R bit, RFC 8656 §14.6). */
export interface PortRequest {
  address: string;
  family: 4 | 6;
  even: boolean;
  reserveNext: boolean;
}

/** Binds one relay socket on `address`:`port` with `bind`; rejects with the bind error. */
function bindRelaySocket(bind: BindDatagram, address: string, family: 4 | 6, port: number): Promise<DatagramSocket> {
  // An IPv6 relay only reaches IPv6 peers: no IPv4-mapped traffic through the back door.
  return bind({ family, address, port, bufferBytes: RELAY_SOCKET_BUFFER_BYTES, reusePort: false, ipv6Only: family === 6 });
}

/** Hands out relay ports from [minPort, maxPort]. */
export class PortAllocator {
  private readonly minPort: number;
  private readonly maxPort: number;
  private readonly bindSocket: BindDatagram;
  private readonly inUse = new Map<string, Set<number>>();

  /** A range of relay ports, inclusive, bound with `bind`. */
  constructor(minPort: number, maxPort: number, bind: BindDatagram) {
    this.minPort = minPort;
    this.maxPort = maxPort;
    this.bindSocket = bind;
  }

  private used(address: string): Set<number> {
    let ports = this.inUse.get(address);
    if (!ports) {
      ports = new Set();
      this.inUse.set(address, ports);
    }
    return ports;
  }

  /** Ports of `address` currently held. */
  heldPorts(address: string): number {
    return this.inUse.get(address)?.size ?? 0;
  }

  /** Binds a relay socket (and the next port when asked); null when no port could be bound. */
  async bind(request: PortRequest): Promise<{ relay: BoundRelay; reserved: BoundRelay | null } | null> {
    const used = this.used(request.address);
    const size = this.maxPort - this.minPort + 1;
    if (used.size >= size) return null;
    const start = randomInt(size);
    let failures = 0;
    for (let step = 0; step < size && failures < MAX_BIND_ATTEMPTS; step++) {
      const port = this.minPort + ((start + step) % size);
      if (request.even && (port & 1) !== 0) continue;
      const pair = request.reserveNext;
      if (used.has(port) || (pair && (port + 1 > this.maxPort || used.has(port + 1)))) continue;
      // Claim before the asynchronous bind so concurrent Allocates never pick the same port.
      used.add(port);
      if (pair) used.add(port + 1);
      let socket: DatagramSocket | null = null;
      try {
        socket = await bindRelaySocket(this.bindSocket, request.address, request.family, port);
        const reserved = pair
          ? { socket: await bindRelaySocket(this.bindSocket, request.address, request.family, port + 1), port: port + 1 }
          : null;
        return { relay: { socket, port }, reserved };
      } catch {
        failures++;
        void socket?.close();
        used.delete(port);
        if (pair) used.delete(port + 1);
      }
    }
    return null;
  }

  /** Returns `port` of `address` to the pool (its socket must be closed by the caller). */
  release(address: string, port: number): void {
    this.inUse.get(address)?.delete(port);
  }
}
