/**
 * The DatagramIo contract (datagram.ts), run against both implementations: Node's dgram (dgram-io.ts) and
 * the batched native addon (native-io.ts + native/udp-batch.c). Loopback only, every bind on port 0.
 *
 * The bursts below are sent in one synchronous loop, so the receiver's kernel buffer has to hold all of them
 * before it reads any: they need net.core.rmem_max of about 1 MiB or more (bufferBytes is capped by it).
 */
import { execFile } from "node:child_process";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DatagramBindOptions, DatagramIo, DatagramSocket } from "./datagram.ts";
import { dgramIo } from "./dgram-io.ts";
import { loadNativeIo, openNativeSockets } from "./native-io.ts";

/** `npm test` builds the addon first (or fails), so a missing addon fails this file rather than skipping half of it. */
const nativeIo = loadNativeIo();

/** Long enough for a loopback datagram that was going to arrive to have arrived. */
const QUIET_MS = 150;

interface Datagram {
  bytes: Buffer;
  address: string;
  port: number;
}

/** A bound socket that records what it receives, copied in the handler (the bytes are only valid during the call). */
interface Endpoint {
  socket: DatagramSocket;
  received: Datagram[];
  errors: Error[];
  /** How many of `received` nextDatagram() has handed out. */
  read: number;
}

const opened: DatagramSocket[] = [];

function options(overrides: Partial<DatagramBindOptions>): DatagramBindOptions {
  return { family: 4, address: "127.0.0.1", port: 0, bufferBytes: 1 << 20, reusePort: false, ipv6Only: false, ...overrides };
}

/** Binds a socket that afterEach closes. */
async function bind(io: DatagramIo, overrides: Partial<DatagramBindOptions> = {}): Promise<DatagramSocket> {
  const socket = await io.bind(options(overrides));
  opened.push(socket);
  return socket;
}

/** Binds a socket and records what it receives; `onMessage` runs after the copy is recorded. */
async function endpoint(
  io: DatagramIo,
  overrides: Partial<DatagramBindOptions> = {},
  onMessage?: (datagram: Datagram, data: Buffer, offset: number, length: number) => void,
): Promise<Endpoint> {
  const socket = await bind(io, overrides);
  const ep: Endpoint = { socket, received: [], errors: [], read: 0 };
  socket.receive(
    (data, offset, length, address, port) => {
      const datagram = { bytes: Buffer.from(data.subarray(offset, offset + length)), address, port };
      ep.received.push(datagram);
      onMessage?.(datagram, data, offset, length);
    },
    (error) => ep.errors.push(error),
  );
  return ep;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 5 ms for at most `timeoutMs`; rejects saying `what` is missing. */
async function waitFor(condition: () => boolean, what: () => string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let round = 0; round < 100_000 && !condition(); round++) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await sleep(5);
  }
  if (!condition()) throw new Error(`gave up waiting for ${what()}`);
}

/** The first `n` datagrams `ep` received (waits for them). */
async function collect(ep: Endpoint, n: number, timeoutMs = 3000): Promise<Datagram[]> {
  await waitFor(
    () => ep.received.length >= n,
    () => `${n} datagrams (got ${ep.received.length})`,
    timeoutMs,
  );
  return ep.received.slice(0, n);
}

/** The next datagram `ep` received after those already returned by this function. */
async function nextDatagram(ep: Endpoint, timeoutMs = 3000): Promise<Datagram> {
  const index = ep.read;
  await collect(ep, index + 1, timeoutMs);
  ep.read = index + 1;
  return ep.received[index]!;
}

function send(from: DatagramSocket, text: string, to: DatagramSocket, address = "127.0.0.1"): void {
  const bytes = Buffer.from(text);
  from.send(bytes, 0, bytes.length, to.port, address);
}

function texts(datagrams: Datagram[]): string[] {
  return datagrams.map((datagram) => datagram.bytes.toString());
}

/** A payload that names its sequence number and whose every byte depends on it. */
function sequenced(seq: number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  bytes.writeUInt32BE(seq, 0);
  for (let i = 4; i < length; i++) bytes[i] = (seq * 31 + i * 7) & 0xff;
  return bytes;
}

afterEach(async () => {
  const sockets = opened.splice(0);
  await Promise.all(sockets.map((socket) => socket.close()));
});

/** Runs `code` (an ES module body) in a child Node; resolves with its exit code. */
function runChild(code: string, timeoutMs = 15_000): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, ["--input-type=module", "-e", code], { timeout: timeoutMs }, (error) => {
      if (error !== null && child.exitCode === null) reject(error);
      else resolve(child.exitCode);
    });
  });
}

describe.each([
  { name: "dgram", io: dgramIo, load: `(await import(${JSON.stringify(new URL("./dgram-io.ts", import.meta.url).href)})).dgramIo` },
  {
    name: "native",
    io: nativeIo as DatagramIo,
    load: `(await import(${JSON.stringify(new URL("./native-io.ts", import.meta.url).href)})).loadNativeIo()`,
  },
])("DatagramIo contract: $name", ({ name, io, load }) => {
  it("reports its name", () => {
    expect(io.name).toBe(name);
  });

  it("binds port 0 on 127.0.0.1 to a free port, and two sockets exchange exact bytes both ways", async () => {
    const a = await endpoint(io);
    const b = await endpoint(io);
    for (const ep of [a, b]) {
      expect(ep.socket.address).toBe("127.0.0.1");
      expect(Number.isInteger(ep.socket.port)).toBe(true);
      expect(ep.socket.port).toBeGreaterThan(0);
      expect(ep.socket.port).toBeLessThan(65536);
    }
    expect(a.socket.port).not.toBe(b.socket.port);

    send(a.socket, "hello from a", b.socket);
    expect(await nextDatagram(b)).toEqual({ bytes: Buffer.from("hello from a"), address: "127.0.0.1", port: a.socket.port });
    send(b.socket, "and back from b", a.socket);
    expect(await nextDatagram(a)).toEqual({ bytes: Buffer.from("and back from b"), address: "127.0.0.1", port: b.socket.port });
    // Binary bytes, every value, survive as they are.
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    a.socket.send(all, 0, all.length, b.socket.port, "127.0.0.1");
    expect((await nextDatagram(b)).bytes).toEqual(all);
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
  });

  it("binds ::1 (IPv6 only) and round-trips with the source rendered as ::1", async () => {
    const a = await endpoint(io, { family: 6, address: "::1", ipv6Only: true });
    const b = await endpoint(io, { family: 6, address: "::1", ipv6Only: true });
    expect(a.socket.address).toBe("::1");
    expect(a.socket.port).toBeGreaterThan(0);
    send(a.socket, "v6 ping", b.socket, "::1");
    expect(await nextDatagram(b)).toEqual({ bytes: Buffer.from("v6 ping"), address: "::1", port: a.socket.port });
    send(b.socket, "v6 pong", a.socket, "::1");
    expect(await nextDatagram(a)).toEqual({ bytes: Buffer.from("v6 pong"), address: "::1", port: b.socket.port });
  });

  it("a dual-stack socket on :: sees IPv4 senders as ::ffff:a.b.c.d and replies to that text", async () => {
    const dual = await endpoint(io, { family: 6, address: "::", ipv6Only: false });
    expect(dual.socket.address).toBe("::");
    const v4 = await endpoint(io);
    const v6 = await endpoint(io, { family: 6, address: "::1", ipv6Only: true });

    send(v4.socket, "from v4", dual.socket, "127.0.0.1");
    const first = await nextDatagram(dual);
    expect(first).toEqual({ bytes: Buffer.from("from v4"), address: "::ffff:127.0.0.1", port: v4.socket.port });
    send(dual.socket, "reply to mapped", v4.socket, first.address);
    expect(await nextDatagram(v4)).toEqual({ bytes: Buffer.from("reply to mapped"), address: "127.0.0.1", port: dual.socket.port });

    // Both families interleaved in one burst: each datagram keeps its own source.
    for (let i = 0; i < 20; i++) {
      if (i % 2 === 0) send(v4.socket, `v4 ${i}`, dual.socket, "127.0.0.1");
      else send(v6.socket, `v6 ${i}`, dual.socket, "::1");
    }
    const burst = (await collect(dual, 21)).slice(1);
    expect(burst).toHaveLength(20);
    for (const datagram of burst) {
      const v4Origin = datagram.bytes.toString().startsWith("v4");
      expect(datagram.address).toBe(v4Origin ? "::ffff:127.0.0.1" : "::1");
      expect(datagram.port).toBe(v4Origin ? v4.socket.port : v6.socket.port);
    }
    // Per sender, order is kept.
    expect(texts(burst).filter((text) => text.startsWith("v4"))).toEqual(Array.from({ length: 10 }, (_, i) => `v4 ${2 * i}`));
    expect(texts(burst).filter((text) => text.startsWith("v6"))).toEqual(Array.from({ length: 10 }, (_, i) => `v6 ${2 * i + 1}`));
  });

  it("ipv6Only true leaves the IPv4 port free; ipv6Only false takes it", async () => {
    const v6only = await endpoint(io, { family: 6, address: "::", ipv6Only: true });
    // The same port number on IPv4 is another socket's, and IPv4 traffic goes there, not to the IPv6-only one.
    const v4 = await endpoint(io, { port: v6only.socket.port });
    const sender = await bind(io);
    send(sender, "to the v4 one", v4.socket, "127.0.0.1");
    expect((await nextDatagram(v4)).bytes.toString()).toBe("to the v4 one");
    await sleep(QUIET_MS);
    expect(v6only.received).toEqual([]);

    const dual = await bind(io, { family: 6, address: "::", ipv6Only: false });
    await expect(bind(io, { port: dual.port })).rejects.toMatchObject({ code: "EADDRINUSE" });
  });

  it("send(data, offset, length) sends only that slice", async () => {
    const a = await bind(io);
    const b = await endpoint(io);
    const buffer = Buffer.from("XXXXpayloadYYYY");
    a.send(buffer, 4, 7, b.socket.port, "127.0.0.1");
    a.send(buffer, 0, 1, b.socket.port, "127.0.0.1");
    a.send(buffer, 11, 4, b.socket.port, "127.0.0.1");
    // A slice of a Buffer that is itself a view into a larger ArrayBuffer.
    const view = Buffer.from("0123456789abcdef").subarray(6, 14);
    a.send(view, 2, 3, b.socket.port, "127.0.0.1");
    expect(texts(await collect(b, 4))).toEqual(["payload", "X", "YYYY", "89a"]);
    expect(buffer.toString()).toBe("XXXXpayloadYYYY");
  });

  it("delivers a burst of 1000 datagrams sent in one synchronous loop, all, in order, intact", async () => {
    const count = 1000;
    const a = await bind(io, { bufferBytes: 1 << 21 });
    const b = await endpoint(io, { bufferBytes: 1 << 21 });
    for (let seq = 0; seq < count; seq++) {
      const payload = sequenced(seq, 8 + (seq % 57));
      a.send(payload, 0, payload.length, b.socket.port, "127.0.0.1");
    }
    const received = await collect(b, count, 10_000);
    for (let seq = 0; seq < count; seq++) {
      const datagram = received[seq]!;
      expect(datagram.bytes.readUInt32BE(0)).toBe(seq);
      expect(datagram.bytes.equals(sequenced(seq, 8 + (seq % 57)))).toBe(true);
      expect(datagram.port).toBe(a.port);
    }
    await sleep(QUIET_MS);
    expect(b.received).toHaveLength(count);
  });

  it("delivers a burst larger than 1 MiB in total (40 × 60000 bytes), in order", async () => {
    const count = 40;
    const size = 60_000;
    const a = await bind(io, { bufferBytes: 1 << 22 });
    const b = await endpoint(io, { bufferBytes: 1 << 22 });
    for (let seq = 0; seq < count; seq++) a.send(sequenced(seq, size), 0, size, b.socket.port, "127.0.0.1");
    const received = await collect(b, count, 10_000);
    received.forEach((datagram, seq) => {
      expect(datagram.bytes.length).toBe(size);
      expect(datagram.bytes.readUInt32BE(0)).toBe(seq);
      expect(datagram.bytes.equals(sequenced(seq, size))).toBe(true);
    });
  });

  it("carries datagrams of 0, 1, 1500, 65000 and 65507 (largest IPv4) bytes intact", async () => {
    const a = await bind(io);
    const b = await endpoint(io);
    const sizes = [0, 1, 1500, 65_000, 65_507];
    for (const size of sizes) {
      const payload = Buffer.alloc(size);
      for (let i = 0; i < size; i++) payload[i] = (i * 13 + size) & 0xff;
      a.send(payload, 0, size, b.socket.port, "127.0.0.1");
    }
    const received = await collect(b, sizes.length);
    received.forEach((datagram, i) => {
      const size = sizes[i]!;
      expect(datagram.bytes.length).toBe(size);
      for (let j = 0; j < size; j++) if (datagram.bytes[j] !== ((j * 13 + size) & 0xff)) expect.fail(`size ${size}: byte ${j} differs`);
    });
  });

  it("attributes each datagram of a mixed burst to its sender and its receiving socket", async () => {
    const senders = [await bind(io), await bind(io), await bind(io)];
    const b = await endpoint(io);
    const c = await endpoint(io);
    for (let round = 0; round < 30; round++) {
      senders.forEach((sender, index) => {
        send(sender, `s${index} r${round} to b`, b.socket);
        send(sender, `s${index} r${round} to c`, c.socket);
      });
    }
    for (const [ep, label] of [
      [b, "b"],
      [c, "c"],
    ] as const) {
      const received = await collect(ep, 90);
      senders.forEach((sender, index) => {
        const mine = received.filter((datagram) => datagram.port === sender.port);
        expect(texts(mine)).toEqual(Array.from({ length: 30 }, (_, round) => `s${index} r${round} to ${label}`));
      });
    }
    await sleep(QUIET_MS);
    expect(b.received).toHaveLength(90);
    expect(c.received).toHaveLength(90);
  });

  it("a handler may send while handling (echo), even past the native out queue in one batch", async () => {
    const count = 300;
    const a = await endpoint(io);
    // Echoes from the receive buffer itself: send copies what it needs before the bytes are reused.
    const echo = await endpoint(io, {}, (datagram, data, offset, length) =>
      echo.socket.send(data, offset, length, datagram.port, datagram.address),
    );
    for (let seq = 0; seq < count; seq++) {
      const payload = sequenced(seq, 20);
      a.socket.send(payload, 0, payload.length, echo.socket.port, "127.0.0.1");
    }
    const echoed = await collect(a, count, 10_000);
    echoed.forEach((datagram, seq) => {
      expect(datagram.bytes.equals(sequenced(seq, 20))).toBe(true);
      expect(datagram.port).toBe(echo.socket.port);
    });
  });

  it("a handler may relay the received bytes on with a header (ChannelData framing), for a whole burst", async () => {
    const count = 300;
    const a = await endpoint(io);
    // As the relay does peer → client: the header goes in front of the received bytes (in place on native).
    const framer = await endpoint(io, {}, (datagram, data, offset, length) =>
      framer.socket.sendWithHeader(0x4000_0000 | length, data, offset, length, datagram.port, datagram.address),
    );
    // And client → peer: a frame's payload relayed on without its header.
    const stripper = await endpoint(io, {}, (datagram, data, offset, length) =>
      stripper.socket.send(data, offset + 4, length - 4, a.socket.port, datagram.address),
    );
    for (let seq = 0; seq < count; seq++) {
      const payload = sequenced(seq, 24 + (seq % 50));
      a.socket.send(payload, 0, payload.length, framer.socket.port, "127.0.0.1");
    }
    const framed = await collect(a, count, 10_000);
    framed.forEach((datagram, seq) => {
      const payload = sequenced(seq, 24 + (seq % 50));
      expect(datagram.bytes.readUInt32BE(0)).toBe(0x4000_0000 | payload.length);
      expect(datagram.bytes.subarray(4).equals(payload)).toBe(true);
      // Each frame goes on to the stripper, which sends the payload back to a.
      a.socket.send(datagram.bytes, 0, datagram.bytes.length, stripper.socket.port, "127.0.0.1");
    });
    const stripped = (await collect(a, 2 * count, 10_000)).slice(count);
    stripped.forEach((datagram, seq) => {
      expect(datagram.bytes.equals(sequenced(seq, 24 + (seq % 50)))).toBe(true);
    });
  });

  it("rejects a bind on a port held exclusively with code EADDRINUSE", async () => {
    const held = await bind(io);
    await expect(bind(io, { port: held.port })).rejects.toMatchObject({ code: "EADDRINUSE" });
    await expect(bind(io, { port: held.port, reusePort: true })).rejects.toMatchObject({ code: "EADDRINUSE" });
    const shared = await bind(io, { reusePort: true });
    await expect(bind(io, { port: shared.port })).rejects.toMatchObject({ code: "EADDRINUSE" });
    // The one holding the port still works.
    const b = await endpoint(io, { port: 0 });
    send(held, "still here", b.socket);
    expect((await nextDatagram(b)).port).toBe(held.port);
  });

  it("reusePort true on both lets two sockets share a port; each datagram reaches one of them", async () => {
    const first = await endpoint(io, { reusePort: true });
    const second = await endpoint(io, { reusePort: true, port: first.socket.port });
    expect(second.socket.port).toBe(first.socket.port);
    const sender = await bind(io);
    for (let i = 0; i < 20; i++) send(sender, `shared ${i}`, first.socket);
    await waitFor(
      () => first.received.length + second.received.length >= 20,
      () => `20 datagrams over both (got ${first.received.length} + ${second.received.length})`,
    );
    await sleep(QUIET_MS);
    const all = texts([...first.received, ...second.received]).sort((x, y) => Number(x.slice(7)) - Number(y.slice(7)));
    expect(all).toEqual(Array.from({ length: 20 }, (_, i) => `shared ${i}`));
  });

  it("close() stops delivery: nothing sent to it afterwards reaches the handler, and close is idempotent", async () => {
    const a = await bind(io);
    const b = await endpoint(io);
    const witness = await endpoint(io);
    send(a, "before", b.socket);
    await nextDatagram(b);
    await b.socket.close();
    await b.socket.close();
    for (let i = 0; i < 5; i++) send(a, `after ${i}`, b.socket);
    // The sender still works, and by the time its next datagram arrived elsewhere the others had their chance.
    send(a, "witness", witness.socket);
    await nextDatagram(witness);
    await sleep(QUIET_MS);
    expect(texts(b.received)).toEqual(["before"]);
    // Sending on a closed socket neither throws nor sends.
    expect(() => send(b.socket, "from closed", witness.socket)).not.toThrow();
    await sleep(QUIET_MS);
    expect(texts(witness.received)).toEqual(["witness"]);
  });

  it("close() drops datagrams already queued for the socket but not yet delivered", async () => {
    const a = await bind(io);
    const b = await endpoint(io);
    for (let i = 0; i < 5; i++) send(a, `queued ${i}`, b.socket);
    await b.socket.close();
    await sleep(QUIET_MS);
    expect(b.received).toEqual([]);
  });

  it("close() from inside the handler stops the rest of the same batch", async () => {
    const a = await bind(io);
    const b = await endpoint(io, {}, () => void b.socket.close());
    for (let i = 0; i < 10; i++) send(a, `batch ${i}`, b.socket);
    await collect(b, 1);
    await sleep(QUIET_MS);
    expect(texts(b.received)).toEqual(["batch 0"]);
  });

  it("datagrams sent just before close() by the closing socket still go out", async () => {
    const count = 300;
    const b = await endpoint(io, { bufferBytes: 1 << 21 });
    const a = await bind(io, { bufferBytes: 1 << 21 });
    send(a, "last words", b.socket);
    await a.close();
    expect(texts([await nextDatagram(b)])).toEqual(["last words"]);
    // More than the native out queue holds, then close at once.
    const c = await bind(io, { bufferBytes: 1 << 21 });
    for (let seq = 0; seq < count; seq++) c.send(sequenced(seq, 16), 0, 16, b.socket.port, "127.0.0.1");
    await c.close();
    const received = (await collect(b, count + 1)).slice(1);
    received.forEach((datagram, seq) => {
      expect(datagram.bytes.equals(sequenced(seq, 16))).toBe(true);
      expect(datagram.port).toBe(c.port);
    });
  });

  it("datagrams sent in a process's last synchronous turn go out even when it exits at once", async () => {
    const b = await endpoint(io);
    const code = `
      const io = ${load};
      const socket = await io.bind({ family: 4, address: "127.0.0.1", port: 0, bufferBytes: 0, reusePort: false, ipv6Only: false });
      for (let i = 0; i < 3; i++) socket.send(Buffer.from("exit " + i), 0, 6, ${b.socket.port}, "127.0.0.1");
      process.exit(7);
    `;
    expect(await runChild(code)).toBe(7);
    expect(texts(await collect(b, 3))).toEqual(["exit 0", "exit 1", "exit 2"]);
  });

  it("a send to a non-IP text neither throws nor delivers, and later sends still work", async () => {
    const a = await bind(io);
    const b = await endpoint(io);
    for (const bad of ["", "not-an-ip", "localhost", "1.2.3", "1.2.3.4.5", "::gg", "256.0.0.1", "127.0.0.1:1"]) {
      const bytes = Buffer.from(`to ${bad}`);
      expect(() => a.send(bytes, 0, bytes.length, b.socket.port, bad)).not.toThrow();
    }
    send(a, "after", b.socket);
    expect(texts([await nextDatagram(b)])).toEqual(["after"]);
    await sleep(QUIET_MS);
    expect(texts(b.received)).toEqual(["after"]);
    expect(b.errors).toEqual([]);
  });

  it("a send to a port outside 1–65535 neither throws nor arrives anywhere (no wrap-around modulo 65536)", async () => {
    const a = await bind(io);
    const b = await endpoint(io);
    const port = b.socket.port;
    for (const bad of [0, -1, port + 65536, port - 65536, port + 0.5, 70000]) {
      const bytes = Buffer.from(`to ${bad}`);
      expect(() => a.send(bytes, 0, bytes.length, bad, "127.0.0.1")).not.toThrow();
    }
    send(a, "after", b.socket);
    expect(texts([await nextDatagram(b)])).toEqual(["after"]);
    await sleep(QUIET_MS);
    expect(texts(b.received)).toEqual(["after"]);
  });

  it("sendWithHeader sends the 4 header bytes big-endian, then the slice, as one datagram", async () => {
    const a = await bind(io);
    const b = await endpoint(io);
    const payload = Buffer.from("..payload..");
    a.sendWithHeader(0x4001_0007, payload, 2, 7, b.socket.port, "127.0.0.1");
    const datagram = await nextDatagram(b);
    expect(datagram.bytes.toString("hex")).toBe(`40010007${Buffer.from("payload").toString("hex")}`);
  });

  it("reports the bound address as Node renders it", async () => {
    const socket = await io.bind({ family: 6, address: "0:0:0:0:0:0:0:1", port: 0, bufferBytes: 0, reusePort: false, ipv6Only: true });
    try {
      expect(socket.address).toBe("::1");
    } finally {
      await socket.close();
    }
  });

  it("copies made in the handler stay intact across 100 datagrams", async () => {
    const count = 100;
    const a = await bind(io);
    const b = await endpoint(io);
    for (let seq = 0; seq < count; seq++) {
      const payload = sequenced(seq, 4 + ((seq * 37) % 1400));
      a.send(payload, 0, payload.length, b.socket.port, "127.0.0.1");
      // Spread them over several batches too.
      if (seq % 10 === 9) await sleep(2);
    }
    const received = await collect(b, count);
    received.forEach((datagram, seq) => {
      expect(datagram.bytes.equals(sequenced(seq, 4 + ((seq * 37) % 1400)))).toBe(true);
    });
  });
});

describe("DatagramIo native only", () => {
  let baseline = 0;
  beforeEach(() => {
    baseline = openNativeSockets();
  });

  it("counts open sockets and returns to the previous count on close, also after a failed bind", async () => {
    const a = await bind(nativeIo);
    const b = await endpoint(nativeIo);
    expect(openNativeSockets()).toBe(baseline + 2);
    await expect(bind(nativeIo, { port: a.port })).rejects.toMatchObject({ code: "EADDRINUSE", syscall: "bind" });
    expect(openNativeSockets()).toBe(baseline + 2);
    await a.close();
    expect(openNativeSockets()).toBe(baseline + 1);
    await b.socket.close();
    await b.socket.close();
    expect(openNativeSockets()).toBe(baseline);
  });

  // Node's dgram (dgram-io.ts) calls the handler from the socket's 'message' event, so a throw there
  // becomes a process 'uncaughtException' (checked by hand), not a call to onError: only native is tested.
  it("a throwing handler reports to onError and later datagrams, even in the same batch, are still delivered", async () => {
    const thrown = new Error("handler failed");
    const a = await bind(nativeIo);
    const b = await endpoint(nativeIo, {}, (datagram) => {
      const text = datagram.bytes.toString();
      if (text === "throw error") throw thrown;
      if (text === "throw string") throw "not an Error";
    });
    send(a, "throw error", b.socket);
    send(a, "same batch 1", b.socket);
    send(a, "throw string", b.socket);
    send(a, "same batch 2", b.socket);
    await collect(b, 4);
    expect(b.errors).toHaveLength(2);
    expect(b.errors[0]).toBe(thrown);
    expect(b.errors[1]).toBeInstanceOf(Error);
    expect(b.errors[1]!.message).toBe("not an Error");
    send(a, "later", b.socket);
    await collect(b, 5);
    expect(texts(b.received)).toEqual(["throw error", "same batch 1", "throw string", "same batch 2", "later"]);
    expect(b.errors).toHaveLength(2);
  });

  it("counts sends to non-IP text as dropped", async () => {
    const a = await bind(nativeIo);
    const b = await endpoint(nativeIo);
    const before = nativeIo.sendFailures;
    for (const bad of ["not-an-ip", "localhost", ""]) a.send(Buffer.from("x"), 0, 1, b.socket.port, bad);
    expect(nativeIo.sendFailures).toBe(before + 3);
    send(a, "fine", b.socket);
    await nextDatagram(b);
    expect(nativeIo.sendFailures).toBe(before + 3);
  });
});
