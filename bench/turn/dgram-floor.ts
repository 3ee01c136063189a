/**
 * What one relayed datagram costs at the least, in Node and in C, on this machine: N times, one datagram
 * of SIZE bytes from socket A to socket B on 127.0.0.1, sent and received (Node: dgram with a window of
 * 64 in flight; C: blocking sendto/recvfrom, built from dgram-floor.c with gcc when it is installed).
 * A TURN relay does at least one such send and one receive per relayed packet, so the ratio of the two
 * is a floor under "our relay's CPU / coturn's CPU" that no TypeScript change can cross.
 * Also measures the relay's batched native path (turn-server/src/transports/native-io.ts, recvmmsg/sendmmsg)
 * the same way, when it is built.
 * Usage: node bench/turn/dgram-floor.ts [--count N] [--size BYTES] [--window 64|1] [--mode plain|offset|connected]
 */
import { execFileSync } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { DatagramIo } from "../../turn-server/src/transports/datagram.ts";
import { loadNativeIo } from "../../turn-server/src/transports/native-io.ts";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "200000" },
    size: { type: "string", default: "200" },
    window: { type: "string", default: "64" },
    mode: { type: "string", default: "plain" },
  },
});
/**
 * How Node sends: plain `send(buffer, port, address)`; offset `send(buffer, offset, length, port, address)`
 * (what a relay forwarding part of a datagram does); connected `connect()` once, then `send(buffer)`.
 */
const MODE = values.mode === "offset" || values.mode === "connected" ? values.mode : "plain";
const count = Number(values.count);
const size = Number(values.size);
/** Datagrams in flight: 64 lets Node read many per event-loop wake-up; 1 is strict ping-pong (one wake-up each). */
const WINDOW = Math.max(1, Number(values.window));

function bind(socket: Socket): Promise<number> {
  return new Promise((resolve) => socket.bind(0, "127.0.0.1", () => resolve(socket.address().port)));
}

/**
 * CPU microseconds (user, system) for `count` datagrams, keeping at most WINDOW in flight so the receive
 * buffer never overflows: `send` sends one, `listen` registers what runs per datagram received.
 */
async function measureWindowed(send: () => void, listen: (onDatagram: () => void) => void): Promise<{ user: number; system: number }> {
  let received = 0;
  let sent = 0;
  const start = process.cpuUsage();
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      while (sent < count && sent - received < WINDOW) {
        send();
        sent += 1;
      }
    };
    listen(() => {
      received += 1;
      if (received === count) resolve();
      else if (sent - received <= WINDOW / 2) pump();
    });
    pump();
  });
  return process.cpuUsage(start);
}

/** Node: one dgram socket sends, another receives. */
async function nodeFloor(): Promise<{ user: number; system: number }> {
  const sender = createSocket("udp4");
  const receiver = createSocket("udp4");
  await bind(sender);
  const port = await bind(receiver);
  const payload = Buffer.alloc(size + 4);
  if (MODE === "connected") await new Promise<void>((resolve) => sender.connect(port, "127.0.0.1", () => resolve()));
  const usage = await measureWindowed(
    () => {
      if (MODE === "plain") sender.send(payload.subarray(0, size), port, "127.0.0.1");
      else if (MODE === "offset") sender.send(payload, 4, size, port, "127.0.0.1");
      else sender.send(payload.subarray(0, size));
    },
    (onDatagram) => receiver.on("message", onDatagram),
  );
  sender.close();
  receiver.close();
  return usage;
}

/** The relay's native DatagramIo: sends queued and sent with sendmmsg, receives batched. */
async function nativeFloor(io: DatagramIo): Promise<{ user: number; system: number }> {
  const options = { family: 4 as const, address: "127.0.0.1", port: 0, bufferBytes: 1 << 20, reusePort: false, ipv6Only: false };
  const sender = await io.bind(options);
  const receiver = await io.bind(options);
  const payload = Buffer.alloc(size);
  const usage = await measureWindowed(
    () => sender.send(payload, 0, size, receiver.port, "127.0.0.1"),
    (onDatagram) => receiver.receive(onDatagram, () => {}),
  );
  await sender.close();
  await receiver.close();
  return usage;
}

/** C: the same through dgram-floor.c, or null when gcc is missing. */
function cFloor(): { user: number; system: number } | null {
  const dir = mkdtempSync(join(tmpdir(), "dgram-floor-"));
  try {
    const binary = join(dir, "dgram-floor");
    execFileSync("gcc", ["-O2", "-o", binary, fileURLToPath(new URL("./dgram-floor.c", import.meta.url))], {
      timeout: 60_000,
      stdio: "ignore",
    });
    const [user, system] = execFileSync(binary, [String(count), String(size)], { encoding: "utf8", timeout: 120_000 })
      .trim()
      .split(" ")
      .map(Number);
    return { user: user ?? 0, system: system ?? 0 };
  } catch {
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const perDatagram = (usage: { user: number; system: number }): string =>
  `${((usage.user + usage.system) / count).toFixed(2)} µs (user ${(usage.user / count).toFixed(2)}, system ${(usage.system / count).toFixed(2)})`;

const node = await nodeFloor();
let native: { user: number; system: number } | string;
try {
  native = await nativeFloor(loadNativeIo());
} catch (error) {
  native = error instanceof Error ? error.message : String(error);
}
const c = cFloor();
process.stdout.write(`${count} datagrams of ${size} B, send + receive, window ${WINDOW}, Node send mode ${MODE}, CPU per datagram:\n`);
process.stdout.write(`  Node ${process.version} dgram: ${perDatagram(node)}\n`);
if (typeof native === "string") process.stdout.write(`  relay native path: skipped (${native})\n`);
else process.stdout.write(`  relay native path (recvmmsg/sendmmsg): ${perDatagram(native)}\n`);
if (c) {
  process.stdout.write(`  C sendto/recvfrom:       ${perDatagram(c)}\n`);
  process.stdout.write(`  Node / C: ${((node.user + node.system) / (c.user + c.system)).toFixed(2)}×\n`);
  if (typeof native !== "string")
    process.stdout.write(`  native / C: ${((native.user + native.system) / (c.user + c.system)).toFixed(2)}×\n`);
} else process.stdout.write("  C: gcc not found, skipped\n");
