/**
 * The batched DatagramIo (Linux): the addon in turn-server/native/ (udp-batch.c) reads every readable
 * socket with recvmmsg into shared buffers and calls `onBatch` once per event-loop iteration for all of
 * them; sends are appended to a shared queue that it sends with sendmmsg after each batch and before the
 * loop blocks. Per datagram from an IPv4 source, JavaScript makes no object (the source text is cached) and
 * no call into C++ (an IPv6 source's text comes from libuv, one call); Node's dgram makes a Buffer, an rinfo object, a string and a SendWrap, and crosses into C++ twice.
 * Why: bench/turn (BENCHMARKS.md "TURN relay").
 *
 * Build it with `npm run build:native` (gcc and Node's own headers; `npm ci` tries it after install).
 * `loadNativeIo()` throws an Error saying why when it is not usable, and the server falls back to dgram.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { canonicalIp, parseIp } from "../stun/ip.ts";
import type { DatagramBindOptions, DatagramHandler, DatagramIo, DatagramSocket } from "./datagram.ts";

/** Where `npm run build:native` puts the addon. */
export const NATIVE_ADDON_PATH = fileURLToPath(new URL("../../native/build/udp_batch.node", import.meta.url));

/** Buffers and sizes the addon shares (see udp-batch.c). */
interface Shared {
  inData: ArrayBuffer;
  inMeta: ArrayBuffer;
  outData: ArrayBuffer;
  outMeta: ArrayBuffer;
  control: ArrayBuffer;
  inSlots: number;
  slotBytes: number;
  inMetaStride: number;
  outSlots: number;
  outBytes: number;
  outMetaStride: number;
}

/** The addon's functions. */
interface Binding {
  init(onBatch: (count: number) => void): Shared;
  open(family: 4 | 6, address: string, port: number, bufferBytes: number, reusePort: boolean, ipv6Only: boolean): [number, number];
  start(fd: number): void;
  close(fd: number): void;
  flush(): number;
  addressText(slot: number): string;
}

/** Cached texts and destinations are forgotten past this many entries (bounded memory under address churn). */
const MAX_CACHED_ADDRESSES = 65_536;

class NativeSocket implements DatagramSocket {
  readonly address: string;
  readonly port: number;
  readonly fd: number;
  handler: DatagramHandler | null = null;
  onError: ((error: Error) => void) | null = null;
  private readonly engine: NativeEngine;
  private closed = false;

  constructor(engine: NativeEngine, fd: number, address: string, port: number) {
    this.engine = engine;
    this.fd = fd;
    this.address = address;
    this.port = port;
  }

  receive(onMessage: DatagramHandler, onError: (error: Error) => void): void {
    this.handler = onMessage;
    this.onError = onError;
    this.engine.start(this);
  }

  send(data: Buffer, offset: number, length: number, port: number, address: string): void {
    if (!this.closed) this.engine.send(this.fd, -1, data, offset, length, port, address);
  }

  sendWithHeader(header: number, data: Buffer, offset: number, length: number, port: number, address: string): void {
    if (!this.closed) this.engine.send(this.fd, header, data, offset, length, port, address);
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.handler = null;
      this.engine.close(this);
    }
    return Promise.resolve();
  }
}

/** One per process: the addon's state lives per Node environment. */
class NativeEngine {
  private readonly binding: Binding;
  private readonly sockets = new Map<number, NativeSocket>();
  private readonly inBuffer: Buffer;
  private readonly inMeta: Int32Array;
  private readonly outBuffer: Buffer;
  private readonly outMeta: Int32Array;
  private readonly control: Int32Array;
  private readonly slotBytes: number;
  private readonly inStride: number;
  private readonly outStride: number;
  private readonly outSlots: number;
  private readonly outBytes: number;
  private readonly ipv4Texts = new Map<number, string>();
  /** Destination text → [family, a0, a1, a2, a3]; family 0 when the text is no IP literal. */
  private readonly destinations = new Map<string, Int32Array>();

  constructor(binding: Binding) {
    this.binding = binding;
    const shared = binding.init(this.onBatch);
    // Datagrams queued in this last turn still go out when the process exits.
    process.once("exit", () => binding.flush());
    this.inBuffer = Buffer.from(shared.inData);
    this.inMeta = new Int32Array(shared.inMeta);
    this.outBuffer = Buffer.from(shared.outData);
    this.outMeta = new Int32Array(shared.outMeta);
    this.control = new Int32Array(shared.control);
    this.slotBytes = shared.slotBytes;
    this.inStride = shared.inMetaStride;
    this.outStride = shared.outMetaStride;
    this.outSlots = shared.outSlots;
    this.outBytes = shared.outBytes;
  }

  /** Sockets open now. */
  get openSockets(): number {
    return this.sockets.size;
  }

  /** Datagrams the kernel refused to send (full buffer, unreachable…) since start. */
  get sendFailures(): number {
    return this.control[2]!;
  }

  bind(options: DatagramBindOptions): Promise<DatagramSocket> {
    try {
      const [fd, port] = this.binding.open(
        options.family,
        options.address,
        options.port,
        options.bufferBytes,
        options.reusePort,
        options.ipv6Only,
      );
      // The address as Node renders it ("0:0::1" → "::1"), as dgram's address() reports it.
      const socket = new NativeSocket(this, fd, canonicalIp(options.address) ?? options.address, port);
      this.sockets.set(fd, socket);
      return Promise.resolve(socket);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  start(socket: NativeSocket): void {
    this.binding.start(socket.fd);
  }

  close(socket: NativeSocket): void {
    if (this.sockets.get(socket.fd) === socket) this.sockets.delete(socket.fd);
    this.binding.close(socket.fd);
  }

  /** Every datagram read in this loop iteration; meta per slot: length, family, port, a0..a3, fd. */
  private readonly onBatch = (count: number): void => {
    const meta = this.inMeta;
    const stride = this.inStride;
    for (let slot = 0; slot < count; slot++) {
      const m = slot * stride;
      const socket = this.sockets.get(meta[m + 7]!);
      const handler = socket?.handler;
      if (socket === undefined || handler == null) continue;
      try {
        const address = meta[m + 1] === 4 ? this.ipv4Text(meta[m + 3]!) : this.binding.addressText(slot);
        handler(this.inBuffer, slot * this.slotBytes, meta[m]!, address, meta[m + 2]!);
      } catch (error) {
        socket.onError?.(error instanceof Error ? error : new Error(String(error)));
      }
    }
  };

  private ipv4Text(value: number): string {
    let text = this.ipv4Texts.get(value);
    if (text === undefined) {
      text = `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
      if (this.ipv4Texts.size >= MAX_CACHED_ADDRESSES) this.ipv4Texts.clear();
      this.ipv4Texts.set(value, text);
    }
    return text;
  }

  private destination(address: string): Int32Array {
    let destination = this.destinations.get(address);
    if (destination === undefined) {
      destination = new Int32Array(5);
      const bytes = parseIp(address);
      if (bytes !== null) {
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        destination[0] = bytes.length === 4 ? 4 : 6;
        for (let word = 0; word < bytes.length / 4; word++) destination[1 + word] = view.getInt32(word * 4);
      }
      if (this.destinations.size >= MAX_CACHED_ADDRESSES) this.destinations.clear();
      this.destinations.set(address, destination);
    }
    return destination;
  }

  /** Queues one datagram: `data[offset, offset + length)`, after the 4 bytes of `header` unless it is -1. */
  send(fd: number, header: number, data: Buffer, offset: number, length: number, port: number, address: string): void {
    const destination = this.destination(address);
    const control = this.control;
    const total = header === -1 ? length : length + 4;
    // Like a failed sendto: an address that is no IP literal, a port outside 1–65535, an impossible size.
    if (destination[0] === 0 || !(port > 0 && port < 65536) || (port | 0) !== port || total > this.outBytes) {
      control[2]!++;
      return;
    }
    if (control[0] === this.outSlots || control[1]! + total > this.outBytes) this.binding.flush();
    const count = control[0]!;
    const used = control[1]!;
    const out = this.outBuffer;
    if (header === -1) {
      data.copy(out, used, offset, offset + length);
    } else {
      out.writeUInt32BE(header >>> 0, used);
      data.copy(out, used + 4, offset, offset + length);
    }
    const meta = this.outMeta;
    const m = count * this.outStride;
    meta[m] = fd;
    meta[m + 1] = used;
    meta[m + 2] = total;
    meta[m + 3] = destination[0]!;
    meta[m + 4] = port;
    meta[m + 5] = destination[1]!;
    meta[m + 6] = destination[2]!;
    meta[m + 7] = destination[3]!;
    meta[m + 8] = destination[4]!;
    control[0] = count + 1;
    control[1] = used + total;
  }
}

let engine: NativeEngine | null = null;

/** Native sockets open in this process (0 when the native path was never loaded). */
export function openNativeSockets(): number {
  return engine?.openSockets ?? 0;
}

/** The native DatagramIo; throws an Error saying why it cannot be used here. */
export function loadNativeIo(): DatagramIo {
  if (engine === null) {
    if (process.platform !== "linux") throw new Error(`the batched UDP path needs Linux (recvmmsg/sendmmsg); this is ${process.platform}`);
    if (!existsSync(NATIVE_ADDON_PATH))
      throw new Error(`the batched UDP addon is not built (${NATIVE_ADDON_PATH}): run npm run build:native`);
    const binding = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as Binding;
    engine = new NativeEngine(binding);
  }
  const current = engine;
  return {
    name: "native",
    bind: (options) => current.bind(options),
    get sendFailures() {
      return current.sendFailures;
    },
  };
}
