/**
 * UDP listener (RFC 8656 §3.1: TURN over UDP). One socket serves every client; a datagram is one STUN
 * message or one ChannelData message (RFC 8656 §12.5). Clients with an allocation are found by
 * `rinfo.address` then `rinfo.port` in nested Maps, so the hot path builds no key string. The socket is a
 * DatagramSocket: Node's dgram or the batched native path (transports/datagram.ts).
 *
 * Scaling past one core: run one process per core, each binding the same listening port with
 * `reusePort: true` (SO_REUSEPORT; the kernel hashes each client's 4-tuple to one process, so a client's
 * requests and ChannelData always reach the process that holds its allocation) and each with its own
 * slice of the relay port range (--min-port/--max-port), which keeps peer → relay traffic local too.
 */
import type { Allocation } from "../allocation/allocation.ts";
import { fiveTupleKey } from "../allocation/five-tuple.ts";
import type { ClientSource } from "../handlers.ts";
import type { ListenerOptions } from "../options.ts";
import type { BoundListener } from "../server-api.ts";
import { unmapIpv4 } from "../stun/ip.ts";
import type { ClientConnection } from "./connection.ts";
import type { DatagramIo, DatagramSocket } from "./datagram.ts";
import { listenError } from "./listen-error.ts";
import type { TransportSink } from "./sink.ts";

/** Kernel buffers for the shared listening socket (capped by net.core.rmem_max / wmem_max). */
const LISTENER_SOCKET_BUFFER_BYTES = 8 << 20;

/** A client 5-tuple on a UDP listener. */
class UdpConnection implements ClientConnection {
  readonly transport = "udp" as const;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly fiveTupleKey: string;
  readonly source: ClientSource;
  readonly open = true;
  allocation: Allocation | null = null;
  /** The address as the socket reports it (IPv4-mapped on a dual-stack socket): what send() needs. */
  readonly wireAddress: string;
  private readonly listener: UdpListener;

  constructor(listener: UdpListener, wireAddress: string, port: number) {
    this.listener = listener;
    this.wireAddress = wireAddress;
    this.remoteAddress = unmapIpv4(wireAddress);
    this.remotePort = port;
    this.localAddress = listener.boundAddress;
    this.localPort = listener.boundPort;
    this.fiveTupleKey = fiveTupleKey("udp", this.localAddress, this.localPort, this.remoteAddress, port);
    this.source = { address: this.remoteAddress, port, transport: "udp" };
  }

  send(frame: Buffer): boolean {
    return this.listener.sendTo(frame, this.remotePort, this.wireAddress);
  }

  sendChannelData(channel: number, data: Buffer, offset: number, length: number): boolean {
    // Header: channel number, then payload length (RFC 8656 §12.4); no padding over UDP (§12.5).
    return this.listener.sendWithHeader(((channel << 16) | length) >>> 0, data, offset, length, this.remotePort, this.wireAddress);
  }

  attach(allocation: Allocation): void {
    this.allocation = allocation;
    this.listener.route(this);
  }

  detach(): void {
    this.allocation = null;
    this.listener.unroute(this);
  }
}

/** One bound UDP listening socket. */
export class UdpListener {
  boundAddress = "";
  boundPort = 0;
  private socket: DatagramSocket | null = null;
  private readonly options: ListenerOptions;
  private readonly sink: TransportSink;
  private readonly io: DatagramIo;
  /** Clients with an allocation: wire address → port → connection. */
  private readonly routes = new Map<string, Map<number, UdpConnection>>();

  /** A listener for `options` delivering to `sink`, with sockets from `io`. */
  constructor(options: ListenerOptions, sink: TransportSink, io: DatagramIo) {
    this.options = options;
    this.sink = sink;
    this.io = io;
  }

  /** Binds; rejects naming the address on failure. */
  async listen(): Promise<BoundListener> {
    const { address, port } = this.options;
    let socket: DatagramSocket;
    try {
      socket = await this.io.bind({
        family: address.includes(":") ? 6 : 4,
        address,
        port,
        bufferBytes: LISTENER_SOCKET_BUFFER_BYTES,
        reusePort: this.options.reusePort === true,
        // Like Node's udp6 default: a "::" listener also serves IPv4 clients (as IPv4-mapped sources).
        ipv6Only: false,
      });
    } catch (error) {
      throw listenError("udp", address, port, error);
    }
    this.socket = socket;
    this.boundAddress = socket.address;
    this.boundPort = socket.port;
    socket.receive(this.onMessage, (error) => this.sink.onError("udp listener", error));
    return { transport: "udp", address: socket.address, port: socket.port };
  }

  /**
   * Every datagram: first byte 0x40–0x7F is ChannelData (RFC 8656 §12: first two bits 01), 0x00–0x3F may
   * be STUN; anything else is dropped. STUN messages are copied (handlers may keep them past this call);
   * ChannelData is relayed from the receive buffer. Error boundary: a datagram can never throw out of here.
   */
  private readonly onMessage = (data: Buffer, offset: number, length: number, address: string, port: number): void => {
    try {
      if (length < 4) {
        this.sink.onDropped();
        return;
      }
      const bits = data[offset]! & 0xc0;
      const byPort = this.routes.get(address);
      const known = byPort === undefined ? undefined : byPort.get(port);
      if (bits === 0x40) {
        if (known === undefined) this.sink.onDropped();
        else this.sink.onChannelData(known, data, offset, length);
      } else if (bits === 0) {
        const message = Buffer.allocUnsafe(length);
        data.copy(message, 0, offset, offset + length);
        this.sink.onStun(known ?? new UdpConnection(this, address, port), message);
      } else {
        this.sink.onDropped();
      }
    } catch (error) {
      this.sink.onError("udp message", error);
    }
  };

  /** Sends one datagram; false when the listener is closed. */
  sendTo(frame: Buffer, port: number, address: string): boolean {
    const socket = this.socket;
    if (socket === null) return false;
    socket.send(frame, 0, frame.length, port, address);
    return true;
  }

  /** Sends `header` (4 bytes) and `data[offset, offset + length)` as one datagram; false when the listener is closed. */
  sendWithHeader(header: number, data: Buffer, offset: number, length: number, port: number, address: string): boolean {
    const socket = this.socket;
    if (socket === null) return false;
    socket.sendWithHeader(header, data, offset, length, port, address);
    return true;
  }

  /** Starts routing a client's datagrams to its connection (it now has an allocation). */
  route(connection: UdpConnection): void {
    let byPort = this.routes.get(connection.wireAddress);
    if (byPort === undefined) {
      byPort = new Map();
      this.routes.set(connection.wireAddress, byPort);
    }
    byPort.set(connection.remotePort, connection);
  }

  /** Stops routing (the allocation ended). */
  unroute(connection: UdpConnection): void {
    const byPort = this.routes.get(connection.wireAddress);
    if (byPort?.get(connection.remotePort) !== connection) return;
    byPort.delete(connection.remotePort);
    if (byPort.size === 0) this.routes.delete(connection.wireAddress);
  }

  /** Closes the socket. */
  close(): Promise<void> {
    const socket = this.socket;
    this.socket = null;
    if (socket === null) return Promise.resolve();
    return socket.close();
  }
}
