/** The portable DatagramIo: Node's `dgram`, one system call and one JS callback per datagram. */
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import type { DatagramBindOptions, DatagramHandler, DatagramIo, DatagramSocket } from "./datagram.ts";
import { literalLookup } from "./literal-lookup.ts";

class DgramSocket implements DatagramSocket {
  readonly address: string;
  readonly port: number;
  private readonly socket: Socket;
  private handler: DatagramHandler | null = null;
  private closed: Promise<void> | null = null;

  constructor(socket: Socket) {
    this.socket = socket;
    const bound = socket.address();
    this.address = bound.address;
    this.port = bound.port;
  }

  receive(onMessage: DatagramHandler, onError: (error: Error) => void): void {
    this.handler = onMessage;
    this.socket.on("error", onError);
    this.socket.on("message", this.onMessage);
  }

  private readonly onMessage = (message: Buffer, remote: RemoteInfo): void => {
    this.handler?.(message, 0, message.length, remote.address, remote.port);
  };

  send(data: Buffer, offset: number, length: number, port: number, address: string): void {
    // dgram throws on a port outside 1–65535 and sends "" to 127.0.0.1: drop both, as a failed sendto would.
    if (this.closed !== null || address === "" || !(port > 0 && port < 65536) || (port | 0) !== port) return;
    this.socket.send(data, offset, length, port, address);
  }

  sendWithHeader(header: number, data: Buffer, offset: number, length: number, port: number, address: string): void {
    // One buffer per datagram: libuv may keep it queued after send() returns (see stun/channel-data.ts).
    const frame = Buffer.allocUnsafe(4 + length);
    frame.writeUInt32BE(header >>> 0, 0);
    data.copy(frame, 4, offset, offset + length);
    this.send(frame, 0, frame.length, port, address);
  }

  close(): Promise<void> {
    if (this.closed !== null) return this.closed;
    this.handler = null;
    this.socket.off("message", this.onMessage);
    this.closed = new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve(); // Already closed.
      }
    });
    return this.closed;
  }
}

function bind(options: DatagramBindOptions): Promise<DatagramSocket> {
  const socket = createSocket({
    type: options.family === 6 ? "udp6" : "udp4",
    ipv6Only: options.ipv6Only,
    lookup: literalLookup,
    recvBufferSize: options.bufferBytes,
    sendBufferSize: options.bufferBytes,
    reusePort: options.reusePort,
  });
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      socket.close();
      reject(error);
    };
    socket.once("error", onError);
    socket.bind({ address: options.address, port: options.port, exclusive: !options.reusePort }, () => {
      socket.off("error", onError);
      resolve(new DgramSocket(socket));
    });
  });
}

/** Node's dgram. */
export const dgramIo: DatagramIo = { name: "dgram", bind, sendFailures: 0 };
