/**
 * TCP and TLS listeners share everything after the handshake (RFC 8656 §3.1, §12.5): one connection is
 * one 5-tuple; frames come from the StreamFramer; when the connection closes its allocation ends.
 * A connection that has made no allocation within NO_ALLOCATION_TIMEOUT_MS is closed by the server's sweep.
 */
import type { Server, Socket } from "node:net";
import type { Allocation } from "../allocation/allocation.ts";
import { fiveTupleKey } from "../allocation/five-tuple.ts";
import type { ClientSource, ClientTransport } from "../handlers.ts";
import type { ListenerOptions } from "../options.ts";
import type { BoundListener } from "../server-api.ts";
import { encodeChannelData } from "../stun/channel-data.ts";
import { unmapIpv4 } from "../stun/ip.ts";
import type { ClientConnection } from "./connection.ts";
import { listenError } from "./listen-error.ts";
import type { TransportSink } from "./sink.ts";
import { type FrameHandler, StreamFramer } from "./stream-framer.ts";

/** Bytes queued for a client before further relayed packets to it are dropped (a slow reader must not grow memory). */
const MAX_WRITE_BACKLOG_BYTES = 2 << 20;
/** RFC 8656 §3.1 leaves idle connections to policy: close one that never allocates within 30 s. */
export const NO_ALLOCATION_TIMEOUT_MS = 30_000;

/** One TCP or TLS client connection. */
export class StreamConnection implements ClientConnection, FrameHandler {
  readonly transport: ClientTransport;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly fiveTupleKey: string;
  readonly source: ClientSource;
  allocation: Allocation | null = null;
  readonly acceptedAt: number;
  private readonly socket: Socket;
  private readonly framer: StreamFramer;
  private readonly sink: TransportSink;
  private closed = false;

  /** Wraps an accepted (and, for TLS, handshaken) socket. */
  constructor(transport: ClientTransport, socket: Socket, sink: TransportSink, now: number) {
    this.transport = transport;
    this.socket = socket;
    this.sink = sink;
    this.acceptedAt = now;
    this.remoteAddress = unmapIpv4(socket.remoteAddress ?? "");
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = unmapIpv4(socket.localAddress ?? "");
    this.localPort = socket.localPort ?? 0;
    this.fiveTupleKey = fiveTupleKey(transport, this.localAddress, this.localPort, this.remoteAddress, this.remotePort);
    this.source = { address: this.remoteAddress, port: this.remotePort, transport };
    this.framer = new StreamFramer(this);
    socket.setNoDelay(true);
    socket.on("data", this.onData);
    socket.on("error", this.onSocketError);
    socket.on("close", this.onClose);
  }

  get open(): boolean {
    return !this.closed;
  }

  /** Error boundary for each chunk: a bad stream closes this connection only. */
  private readonly onData = (chunk: Buffer): void => {
    try {
      if (!this.framer.push(chunk)) {
        this.sink.onDropped();
        this.close();
      }
    } catch (error) {
      this.sink.onError(`${this.transport} data`, error);
    }
  };

  /** FrameHandler: one frame to the server. */
  onFrame(data: Buffer, offset: number, length: number, channelData: boolean): void {
    if (this.closed) return;
    if (channelData) {
      if (this.allocation === null) this.sink.onDropped();
      else this.sink.onChannelData(this, data, offset, length);
    } else {
      this.sink.onStun(this, data.subarray(offset, offset + length));
    }
  }

  private readonly onSocketError = (): void => {
    // Resets and TLS alerts are normal for clients on the internet; "close" follows and cleans up.
  };

  private readonly onClose = (): void => {
    if (this.closed) return;
    this.closed = true;
    try {
      this.sink.onClosed(this);
    } catch (error) {
      this.sink.onError(`${this.transport} close`, error);
    }
  };

  send(frame: Buffer): boolean {
    if (this.closed || this.socket.writableLength > MAX_WRITE_BACKLOG_BYTES) return false;
    this.socket.write(frame);
    return true;
  }

  sendChannelData(channel: number, data: Buffer, offset: number, length: number): boolean {
    return this.send(encodeChannelData(channel, data, offset, offset + length, true));
  }

  attach(allocation: Allocation): void {
    this.allocation = allocation;
  }

  detach(): void {
    this.allocation = null;
  }

  /** Closes the connection (its allocation ends through onClosed). */
  close(): void {
    this.socket.destroy();
  }
}

/** A TCP or TLS listening server. */
export class StreamListener {
  private readonly server: Server;
  private readonly options: ListenerOptions;
  private readonly connections = new Set<StreamConnection>();

  /**
   * Wraps `server` (net or tls, not yet listening); `connectionEvent` is "connection" for TCP and
   * "secureConnection" for TLS (only handshaken sockets become connections).
   */
  constructor(server: Server, connectionEvent: string, options: ListenerOptions, sink: TransportSink, clock: () => number) {
    this.server = server;
    this.options = options;
    const transport = options.transport;
    server.on(connectionEvent, (socket: Socket) => {
      try {
        const connection = new StreamConnection(transport, socket, sink, clock());
        this.connections.add(connection);
        socket.once("close", () => this.connections.delete(connection));
      } catch (error) {
        socket.destroy();
        sink.onError(`${transport} accept`, error);
      }
    });
    server.on("error", (error) => sink.onError(`${transport} listener`, error));
  }

  /** Binds; rejects naming the address on failure. */
  listen(): Promise<BoundListener> {
    const { address, port, transport } = this.options;
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(listenError(transport, address, port, error));
      this.server.once("error", onError);
      this.server.listen(
        { host: address, port, exclusive: this.options.reusePort !== true, reusePort: this.options.reusePort === true },
        () => {
          this.server.off("error", onError);
          const bound = this.server.address();
          if (bound === null || typeof bound === "string") {
            reject(listenError(transport, address, port, new Error("no address")));
            return;
          }
          resolve({ transport, address: bound.address, port: bound.port });
        },
      );
    });
  }

  /** Closes connections that never allocated within the timeout (called from the sweep). */
  closeIdle(now: number): void {
    for (const connection of this.connections) {
      if (connection.allocation === null && now - connection.acceptedAt > NO_ALLOCATION_TIMEOUT_MS) connection.close();
    }
  }

  /** Stops listening and closes every connection. */
  close(): Promise<void> {
    for (const connection of this.connections) connection.close();
    return new Promise((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      this.server.close(() => resolve());
    });
  }
}
