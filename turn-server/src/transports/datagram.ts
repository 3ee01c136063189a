/**
 * UDP sockets as the relay uses them: bind, receive (address as Node renders `rinfo.address`), send part
 * of a buffer. Two implementations: Node's `dgram` (dgram-io.ts, everywhere) and the batched native path
 * (native-io.ts: recvmmsg/sendmmsg, Linux, when the addon is built). The listener and the relay sockets
 * only see this interface, so the choice is one option (`udpIo`, flag `--udp-io`).
 */

/**
 * One received datagram: bytes `data[offset, offset + length)`. They are only valid during the call (the
 * native path reuses its buffers): a handler that keeps a message copies it.
 */
export type DatagramHandler = (data: Buffer, offset: number, length: number, address: string, port: number) => void;

/** What to bind. */
export interface DatagramBindOptions {
  family: 4 | 6;
  address: string;
  /** 0 picks a free port. */
  port: number;
  /** SO_RCVBUF and SO_SNDBUF (capped by net.core.rmem_max / wmem_max). */
  bufferBytes: number;
  /** SO_REUSEPORT; otherwise the bind is exclusive. */
  reusePort: boolean;
  /** IPv6 socket that refuses IPv4-mapped traffic. */
  ipv6Only: boolean;
}

/** A bound UDP socket. */
export interface DatagramSocket {
  /** Bound address and port. */
  readonly address: string;
  readonly port: number;
  /** Starts delivering datagrams to `onMessage`; socket errors go to `onError`. Call once. */
  receive(onMessage: DatagramHandler, onError: (error: Error) => void): void;
  /** Sends `data[offset, offset + length)` to `address`:`port` (an IP literal). Drops silently on failure, like UDP. */
  send(data: Buffer, offset: number, length: number, port: number, address: string): void;
  /**
   * Sends the 4 bytes of `header` (big-endian) followed by `data[offset, offset + length)` as one datagram:
   * a ChannelData frame (RFC 8656 §12.4) without building it in a buffer of its own first.
   */
  sendWithHeader(header: number, data: Buffer, offset: number, length: number, port: number, address: string): void;
  /** Stops delivery at once and closes. */
  close(): Promise<void>;
}

/** Binds a UDP socket; rejects with the system error (code EADDRINUSE, EACCES…). */
export type BindDatagram = (options: DatagramBindOptions) => Promise<DatagramSocket>;

/** A UDP implementation: its name (for logs and metrics) and how it binds. */
export interface DatagramIo {
  readonly name: "dgram" | "native";
  readonly bind: BindDatagram;
  /**
   * Datagrams the kernel refused to send since start (full send buffer, unreachable network…), counted by
   * the native path. Node's dgram reports those as socket errors instead (logged), so its count stays 0.
   */
  readonly sendFailures: number;
}
