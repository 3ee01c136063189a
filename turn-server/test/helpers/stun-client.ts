/**
 * A small, strict STUN/TURN client for tests: UDP, TCP or TLS; request/response matching by transaction
 * id; the long-term credential dance (401 → retry with REALM/NONCE, 438 → retry with the new NONCE);
 * queues for ChannelData and Data indications. Built on the server's own codec, which is checked
 * separately against the RFC 5769 vectors and exercised against werift and coturn's clients.
 */
import { randomBytes } from "node:crypto";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { connect as connectTcp, type Socket } from "node:net";
import { connect as connectTls } from "node:tls";
import { StunMessageBuilder } from "../../src/stun/builder.ts";
import { Attr, MessageClass, Method } from "../../src/stun/constants.ts";
import { decodeErrorCode } from "../../src/stun/error-code.ts";
import { longTermKey } from "../../src/stun/integrity.ts";
import { parseIp } from "../../src/stun/ip.ts";
import { decodeStunMessage, findAttribute, readString, readUint32, readXorAddress, type StunMessage } from "../../src/stun/message.ts";
import type { TransportAddress } from "../../src/stun/xor-address.ts";
import { StreamFramer } from "../../src/transports/stream-framer.ts";

/** Where the server listens. */
export interface Endpoint {
  address: string;
  port: number;
}

/** Long-term credentials. */
export interface Credentials {
  username: string;
  password: string;
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** A FIFO with awaitable take(). */
class Queue<T> {
  private readonly items: T[] = [];
  private readonly waiters: Waiter<T>[] = [];
  push(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(item);
    } else {
      this.items.push(item);
    }
  }
  take(timeoutMs: number, what: string): Promise<T> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve, reject) => {
      const waiter: Waiter<T> = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(new Error(`timed out waiting for ${what}`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }
  get length(): number {
    return this.items.length;
  }
}

/** The error code of an error response, or 0. */
export function errorCodeOf(message: StunMessage): number {
  const attribute = findAttribute(message, Attr.ErrorCode);
  return attribute ? (decodeErrorCode(message.raw, attribute.offset, attribute.length)?.code ?? -1) : 0;
}

/** A test client on one 5-tuple. */
export class TestClient {
  readonly channelData = new Queue<{ channel: number; data: Buffer }>();
  readonly dataIndications = new Queue<{ peer: TransportAddress; data: Buffer }>();
  readonly otherMessages = new Queue<StunMessage>();
  private readonly pending = new Map<string, (message: StunMessage) => void>();
  private udp: UdpSocket | null = null;
  private stream: Socket | null = null;
  private readonly server: Endpoint;
  readonly transport: "udp" | "tcp" | "tls";
  realm: string | undefined;
  nonce: string | undefined;
  credentials: Credentials | undefined;
  /** Set when a TCP/TLS connection closed. */
  streamClosed = false;

  private constructor(transport: "udp" | "tcp" | "tls", server: Endpoint) {
    this.transport = transport;
    this.server = server;
  }

  /** Connects over `transport`; `localAddress` binds the client side (e.g. another 127.x). */
  static async connect(transport: "udp" | "tcp" | "tls", server: Endpoint, localAddress?: string): Promise<TestClient> {
    const client = new TestClient(transport, server);
    if (transport === "udp") {
      const socket = createSocket(server.address.includes(":") ? "udp6" : "udp4");
      client.udp = socket;
      socket.on("message", (message) => client.onPacket(message));
      await new Promise<void>((resolve) => socket.bind({ port: 0, ...(localAddress ? { address: localAddress } : {}) }, () => resolve()));
      return client;
    }
    const framer = new StreamFramer({
      onFrame: (data, offset, length) => client.onPacket(Buffer.from(data.subarray(offset, offset + length))),
    });
    const socket =
      transport === "tcp"
        ? connectTcp({ host: server.address, port: server.port, ...(localAddress ? { localAddress } : {}) })
        : connectTls({ host: server.address, port: server.port, rejectUnauthorized: false, ...(localAddress ? { localAddress } : {}) });
    client.stream = socket;
    socket.on("data", (chunk: Buffer) => framer.push(chunk));
    socket.on("close", () => {
      client.streamClosed = true;
    });
    socket.on("error", () => {});
    await new Promise<void>((resolve, reject) => {
      socket.once(transport === "tls" ? "secureConnect" : "connect", () => resolve());
      socket.once("error", reject);
    });
    return client;
  }

  private onPacket(packet: Buffer): void {
    if (packet.length >= 4 && (packet[0]! & 0xc0) === 0x40) {
      const length = packet.readUInt16BE(2);
      this.channelData.push({ channel: packet.readUInt16BE(0), data: Buffer.from(packet.subarray(4, 4 + length)) });
      return;
    }
    const message = decodeStunMessage(packet);
    if (!message) return;
    const waiter = this.pending.get(message.transactionId.toString("hex"));
    if (waiter && (message.messageClass === MessageClass.SuccessResponse || message.messageClass === MessageClass.ErrorResponse)) {
      waiter(message);
      return;
    }
    if (message.method === Method.Data && message.messageClass === MessageClass.Indication) {
      const peer = readXorAddress(message, findAttribute(message, Attr.XorPeerAddress)!)!;
      const data = findAttribute(message, Attr.Data)!;
      this.dataIndications.push({ peer, data: Buffer.from(message.raw.subarray(data.offset, data.offset + data.length)) });
      return;
    }
    this.otherMessages.push(message);
  }

  /** Local address of the client socket. */
  get localPort(): number {
    return this.udp ? this.udp.address().port : (this.stream?.localPort ?? 0);
  }

  /** Sends raw bytes to the server. */
  sendRaw(data: Buffer): void {
    if (this.udp) this.udp.send(data, this.server.port, this.server.address);
    else this.stream?.write(data);
  }

  /** Sends `message` and waits for the response with its transaction id. */
  async transact(message: Buffer, timeoutMs = 2000): Promise<StunMessage> {
    const id = message.subarray(8, 20).toString("hex");
    const response = new Promise<StunMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no response to 0x${message.readUInt16BE(0).toString(16)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, (answer) => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(answer);
      });
    });
    this.sendRaw(message);
    return response;
  }

  /** A builder for a request of `method` with a fresh transaction id. */
  static request(method: number): StunMessageBuilder {
    return new StunMessageBuilder(method, MessageClass.Request, randomBytes(12));
  }

  /** The long-term key for the current realm. */
  key(): Buffer {
    if (!this.credentials || this.realm === undefined) throw new Error("no credentials or realm yet");
    return longTermKey(this.credentials.username, this.realm, this.credentials.password);
  }

  /**
   * Sends an authenticated request: learns REALM/NONCE from a 401 first if needed, and retries once on
   * 401 (new nonce) or 438 (stale nonce). `extend` adds the method's attributes.
   */
  async authenticated(
    method: number,
    extend: (builder: StunMessageBuilder) => void = () => {},
    options: { sha256?: boolean } = {},
  ): Promise<StunMessage> {
    if (!this.credentials) throw new Error("set credentials first");
    if (this.nonce === undefined) {
      const first = TestClient.request(method);
      extend(first);
      const challenge = await this.transact(first.finish({ fingerprint: true }));
      if (errorCodeOf(challenge) !== 401) return challenge;
      this.realm = readString(challenge, Attr.Realm);
      this.nonce = readString(challenge, Attr.Nonce);
    }
    for (let attempt = 0; ; attempt++) {
      const builder = TestClient.request(method);
      extend(builder);
      builder.addString(Attr.Username, this.credentials.username).addString(Attr.Realm, this.realm!).addString(Attr.Nonce, this.nonce!);
      const response = await this.transact(
        builder.finish({ integrity: { key: this.key(), algorithm: options.sha256 ? "sha256" : "sha1" }, fingerprint: true }),
      );
      const code = errorCodeOf(response);
      if ((code === 438 || code === 401) && attempt === 0) {
        this.nonce = readString(response, Attr.Nonce) ?? this.nonce;
        this.realm = readString(response, Attr.Realm) ?? this.realm;
        if (code === 438) continue;
      }
      return response;
    }
  }

  /** Allocate (UDP relay); returns the response and the relayed address on success. */
  async allocate(
    credentials: Credentials,
    extend: (builder: StunMessageBuilder) => void = () => {},
  ): Promise<{ response: StunMessage; relay: TransportAddress | null; lifetime: number | undefined }> {
    this.credentials = credentials;
    const response = await this.authenticated(Method.Allocate, (builder) => {
      builder.addUint32(Attr.RequestedTransport, 17 << 24);
      extend(builder);
    });
    const relayed = findAttribute(response, Attr.XorRelayedAddress);
    return {
      response,
      relay: relayed ? readXorAddress(response, relayed) : null,
      lifetime: readUint32(response, Attr.Lifetime) ?? undefined,
    };
  }

  /** CreatePermission for `peers`. */
  createPermission(...peers: Endpoint[]): Promise<StunMessage> {
    return this.authenticated(Method.CreatePermission, (builder) => {
      for (const peer of peers) builder.addXorAddress(Attr.XorPeerAddress, parseIp(peer.address)!, peer.port);
    });
  }

  /** ChannelBind `channel` to `peer`. */
  channelBind(channel: number, peer: Endpoint): Promise<StunMessage> {
    return this.authenticated(Method.ChannelBind, (builder) => {
      builder.addUint32(Attr.ChannelNumber, channel << 16).addXorAddress(Attr.XorPeerAddress, parseIp(peer.address)!, peer.port);
    });
  }

  /** Refresh with `lifetime` seconds. */
  refresh(lifetime?: number): Promise<StunMessage> {
    return this.authenticated(Method.Refresh, (builder) => {
      if (lifetime !== undefined) builder.addUint32(Attr.Lifetime, lifetime);
    });
  }

  /** Sends ChannelData (padded on streams, RFC 8656 §12.5). */
  sendChannelData(channel: number, data: Buffer): void {
    const padded = this.transport === "udp" ? data.length : (data.length + 3) & ~3;
    const frame = Buffer.alloc(4 + padded);
    frame.writeUInt16BE(channel, 0);
    frame.writeUInt16BE(data.length, 2);
    data.copy(frame, 4);
    this.sendRaw(frame);
  }

  /** Sends a Send indication to `peer`. */
  sendIndication(peer: Endpoint, data: Buffer): void {
    const message = new StunMessageBuilder(Method.Send, MessageClass.Indication, randomBytes(12))
      .addXorAddress(Attr.XorPeerAddress, parseIp(peer.address)!, peer.port)
      .addBytes(Attr.Data, data)
      .finish();
    this.sendRaw(message);
  }

  /** Closes the socket. */
  async close(): Promise<void> {
    if (this.udp) {
      const socket = this.udp;
      this.udp = null;
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
    if (this.stream) {
      const socket = this.stream;
      this.stream = null;
      if (!socket.destroyed) {
        await new Promise<void>((resolve) => {
          socket.once("close", () => resolve());
          socket.destroy();
        });
      }
    }
  }
}

/** A UDP "peer" (the other side of the relay) with a queue of received datagrams. */
export class TestPeer {
  readonly received = new Queue<{ data: Buffer; from: Endpoint }>();
  private readonly socket: UdpSocket;

  private constructor(socket: UdpSocket) {
    this.socket = socket;
    socket.on("message", (data, remote) => this.received.push({ data, from: { address: remote.address, port: remote.port } }));
  }

  /** Binds on `address` (default 127.0.0.1). */
  static async bind(address = "127.0.0.1"): Promise<TestPeer> {
    const socket = createSocket({ type: address.includes(":") ? "udp6" : "udp4", ipv6Only: address.includes(":") });
    await new Promise<void>((resolve) => socket.bind({ port: 0, address }, () => resolve()));
    return new TestPeer(socket);
  }

  /** Bound address and port. */
  get endpoint(): Endpoint {
    const address = this.socket.address();
    return { address: address.address, port: address.port };
  }

  /** Sends a datagram to `to`. */
  send(data: Buffer, to: Endpoint): void {
    this.socket.send(data, to.port, to.address);
  }

  /** Closes the socket. */
  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
