/**
 * End to end: the real `switchboard-turn` bin in a child process on loopback, ports picked by the OS and
 * read back from its `listening` log line. STUN Binding (by hand and with coturn's turnutils_stunclient),
 * a TURN allocation relaying to an echo peer (werift's client), /metrics, /healthz, /readyz, heartbeats
 * to a local registry, and SIGTERM draining while the allocation keeps working.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createServer as createTcpServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as connectTls } from "node:tls";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { classes, createTurnClient, Message, methods, type TurnProtocol } from "werift";
import type { Heartbeat } from "../../protocol/ice.ts";
import { makeSelfSignedCert } from "../../test/support/tls-cert.ts";

const BIN = fileURLToPath(new URL("../bin/switchboard-turn.js", import.meta.url));
const SYSTEM_NODE_MAJOR = existsSync("/usr/bin/node")
  ? Number(execFileSync("/usr/bin/node", ["-v"], { encoding: "utf8" }).trim().slice(1).split(".")[0])
  : null;
const DEV_ARGS = [
  "--listening-ip=127.0.0.1",
  "--listening-port=0",
  "--metrics-port=0",
  "--user=alice:secret",
  "--realm=test",
  "--allow-loopback-peers",
];

type LogLine = Record<string, unknown> & { event?: string; msg?: string; level?: string };
interface ListeningLine {
  listeners: Array<{ transport: string; address: string; port: number }>;
  metrics: { address: string; port: number } | null;
  urls: string[];
}

interface Relay {
  child: ChildProcess;
  lines: LogLine[];
  listening: ListeningLine;
  udpPort: number;
  metricsUrl: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForLine(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  stderr(): string;
}

const children: ChildProcess[] = [];
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

/** Spawns the bin with only PATH from this environment (no stray TURN_* settings). */
function spawnBin(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stdout = "";
  let stderr = "";
  const lines: LogLine[] = [];
  const waiters = new Set<{ predicate: (line: LogLine) => boolean; resolve: (line: LogLine) => void }>();
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    let newline = stdout.indexOf("\n");
    while (newline >= 0) {
      const text = stdout.slice(0, newline);
      stdout = stdout.slice(newline + 1);
      newline = stdout.indexOf("\n");
      if (!text.trim()) continue;
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { msg: text };
      }
      lines.push(line);
      for (const waiter of waiters) {
        if (waiter.predicate(line)) {
          waiters.delete(waiter);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal }));
  });
  const waitForLine = (predicate: (line: LogLine) => boolean, timeoutMs = 15_000) => {
    const seen = lines.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise<LogLine>((resolve, reject) => {
      const waiter = {
        predicate,
        resolve: (line: LogLine) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`no matching log line within ${timeoutMs} ms; stderr: ${stderr}; lines: ${JSON.stringify(lines)}`));
      }, timeoutMs);
      waiters.add(waiter);
      void exited.then(({ code }) => {
        if (!waiters.has(waiter)) return;
        waiters.delete(waiter);
        clearTimeout(timer);
        reject(new Error(`relay exited (${code}) before the line appeared; stderr: ${stderr}; lines: ${JSON.stringify(lines)}`));
      });
    });
  };
  return { child, lines, exited, waitForLine, stderr: () => stderr };
}

async function startRelay(args: string[], env: Record<string, string> = {}): Promise<Relay> {
  const started = spawnBin(args, env);
  const line = (await started.waitForLine((candidate) => candidate.event === "listening")) as unknown as ListeningLine;
  const udp = line.listeners.find((listener) => listener.transport === "udp");
  if (!udp) throw new Error(`no udp listener in ${JSON.stringify(line)}`);
  return {
    ...started,
    listening: line,
    udpPort: udp.port,
    metricsUrl: line.metrics ? `http://127.0.0.1:${line.metrics.port}` : "",
  };
}

/** A registry stand-in: records heartbeats, answers 200. */
async function registryStub(answer: () => object = () => ({ ok: true, ttlSeconds: 15 })) {
  const heartbeats: Array<{ authorization: string | undefined; body: Heartbeat }> = [];
  const server: Server = createServer((request, response) => {
    let text = "";
    request.on("data", (chunk) => {
      text += chunk;
    });
    request.on("end", () => {
      heartbeats.push({ authorization: request.headers.authorization, body: JSON.parse(text) as Heartbeat });
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify(answer()));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, heartbeats };
}

async function udpSocket(): Promise<Socket> {
  const socket = createSocket("udp4");
  socket.bind(0, "127.0.0.1");
  await once(socket, "listening");
  cleanups.push(() => {
    socket.close();
  });
  return socket;
}

/** Sends an RFC 8489 Binding request and returns the XOR-MAPPED-ADDRESS of the success answer. */
async function stunBinding(port: number): Promise<{ address: string; port: number }> {
  const socket = await udpSocket();
  const transactionId = randomBytes(12);
  const request = Buffer.alloc(20);
  request.writeUInt16BE(0x0001, 0); // Binding request
  request.writeUInt16BE(0, 2);
  request.writeUInt32BE(0x2112a442, 4);
  transactionId.copy(request, 8);
  const answer = new Promise<Buffer>((resolve) => {
    socket.on("message", (message: Buffer) => {
      if (message.length >= 20 && message.subarray(8, 20).equals(transactionId)) resolve(message);
    });
  });
  // RFC 8489 §6.2.1 retransmission, bounded: 5 tries, 200 ms apart.
  let tries = 0;
  const send = () => socket.send(request, port, "127.0.0.1");
  send();
  const retransmit = setInterval(() => (++tries < 5 ? send() : clearInterval(retransmit)), 200);
  const message = await answer.finally(() => clearInterval(retransmit));
  expect(message.readUInt16BE(0)).toBe(0x0101); // Binding success response
  let offset = 20;
  while (offset + 4 <= message.length) {
    const type = message.readUInt16BE(offset);
    const length = message.readUInt16BE(offset + 2);
    if (type === 0x0020) {
      const mappedPort = message.readUInt16BE(offset + 6) ^ 0x2112;
      const raw = message.readUInt32BE(offset + 8) ^ 0x2112a442;
      return { address: `${raw >>> 24}.${(raw >>> 16) & 255}.${(raw >>> 8) & 255}.${raw & 255}`, port: mappedPort };
    }
    offset += 4 + Math.ceil(length / 4) * 4;
  }
  throw new Error("no XOR-MAPPED-ADDRESS in the Binding response");
}

async function allocate(relay: Relay): Promise<TurnProtocol> {
  const turn = await createTurnClient(
    { address: ["127.0.0.1", relay.udpPort], username: "alice", password: "secret" },
    { transport: "udp" },
  );
  cleanups.push(() => turn.close());
  return turn;
}

/** Relays one datagram to an echo peer and back through the allocation. */
async function echoThrough(turn: TurnProtocol, text: string): Promise<string> {
  const peer = await udpSocket();
  peer.on("message", (message, remote) => peer.send(message, remote.port, remote.address));
  const received = new Promise<string>((resolve) => {
    const subscription = turn.onData.subscribe((data) => {
      subscription.unSubscribe();
      resolve(data.toString());
    });
  });
  await turn.sendData(Buffer.from(text), ["127.0.0.1", (peer.address() as AddressInfo).port]);
  return received;
}

async function refreshZero(turn: TurnProtocol): Promise<void> {
  const request = new Message(methods.REFRESH, classes.REQUEST);
  request.setAttribute("LIFETIME", 0);
  await turn.request(request, turn.server);
}

/** The STUN ERROR-CODE a werift request failed with (werift's TransactionFailed carries the response). */
async function errorCodeOf(attempt: Promise<unknown>): Promise<number | string> {
  try {
    await attempt;
    return "succeeded";
  } catch (error) {
    const response = (error as { response?: Message }).response;
    const errorCode = response?.getAttributeValue("ERROR-CODE") as [number, string] | undefined;
    return errorCode?.[0] ?? String(error);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    }),
  ]);
}

describe("switchboard-turn bin", () => {
  it("--help lists every flag with its variable; --version prints the version", async () => {
    const help = spawnBin(["--help"]);
    expect((await help.exited).code).toBe(0);
    const version = spawnBin(["--version"]);
    expect((await version.exited).code).toBe(0);
    const run = promisify(execFile);
    const { stdout } = await run(process.execPath, [BIN, "--help"]);
    expect(stdout).toContain("--listening-port=PORT");
    expect(stdout).toContain("env TURN_STATIC_AUTH_SECRET");
    expect(stdout).toContain("default 3478");
    expect((await run(process.execPath, [BIN, "--version"])).stdout).toMatch(/^switchboard-turn \d+\.\d+\.\d+/);
  });

  it("refuses to start without auth, exit 1, naming the fix", async () => {
    const relay = spawnBin(["--listening-ip=127.0.0.1", "--listening-port=0"]);
    expect((await relay.exited).code).toBe(1);
    expect(relay.stderr()).toMatch(/cannot start:\n {2}- no auth configured: pass --use-auth-secret/);
  });

  // The machine's own Node (20 here) is older than the relay needs: the shim must say so plainly.
  it.skipIf(SYSTEM_NODE_MAJOR === null || SYSTEM_NODE_MAJOR >= 22)("on an old Node says which version it needs", async () => {
    const old = spawn("/usr/bin/node", [BIN, "--help"], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(old);
    let stderr = "";
    old.stderr!.on("data", (chunk) => {
      stderr += chunk;
    });
    const [code] = (await once(old, "exit")) as [number];
    expect(code).toBe(1);
    expect(stderr).toMatch(/needs Node.js 22.12 or newer; this is v\d+/);
  });

  it("exits 1 with a clear message when the TURN port is taken", async () => {
    const holder = await udpSocket();
    const port = (holder.address() as AddressInfo).port;
    const relay = spawnBin(["--listening-ip=127.0.0.1", `--listening-port=${port}`, "--metrics-port=off", "--user=a:b"]);
    expect((await relay.exited).code).toBe(1);
    const fatal = relay.lines.find((line) => line.event === "start-failed");
    expect(fatal?.msg).toMatch(new RegExp(`--listening-ip/--listening-port: 127.0.0.1:${port} is already in use`));
  });

  it("exits 1 with a clear message when the metrics port is taken", async () => {
    const holder = createTcpServer();
    holder.listen(0, "127.0.0.1");
    await once(holder, "listening");
    cleanups.push(() => new Promise<void>((resolve) => holder.close(() => resolve())));
    const port = (holder.address() as AddressInfo).port;
    const relay = spawnBin(["--listening-ip=127.0.0.1", "--listening-port=0", `--metrics-port=${port}`, "--user=a:b"]);
    expect((await relay.exited).code).toBe(1);
    expect(relay.lines.find((line) => line.event === "start-failed")?.msg).toMatch(
      new RegExp(`--metrics-ip/--metrics-port: 127.0.0.1:${port} is already in use`),
    );
  });

  it("serves STUN, TURN, metrics and health; heartbeats; drains on SIGTERM and exits 0", async () => {
    const registry = await registryStub();
    const relay = await startRelay(
      [
        ...DEV_ARGS,
        `--registry-url=${registry.url}`,
        "--region=local",
        "--node-id=e2e-1",
        "--heartbeat-interval=0.2",
        "--drain-timeout=60",
      ],
      { TURN_NODE_TOKEN: "node-token-e2e" },
    );
    expect(relay.listening.listeners.map((listener) => listener.transport).sort()).toEqual(["tcp", "udp"]);
    expect(relay.listening.urls).toEqual([
      `turn:127.0.0.1:${relay.udpPort}?transport=udp`,
      expect.stringMatching(/^turn:127\.0\.0\.1:\d+\?transport=tcp$/),
    ]);

    // STUN Binding, by hand and with coturn's client.
    const mapped = await stunBinding(relay.udpPort);
    expect(mapped.address).toBe("127.0.0.1");
    if (existsSync("/usr/bin/turnutils_stunclient")) {
      const { stdout } = await promisify(execFile)("turnutils_stunclient", ["-p", String(relay.udpPort), "127.0.0.1"], { timeout: 10_000 });
      expect(stdout).toMatch(/UDP reflexive addr: 127\.0\.0\.1:\d+/);
    }

    // Health and readiness.
    expect((await fetch(`${relay.metricsUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${relay.metricsUrl}/readyz`)).status).toBe(200);

    // A relayed round trip through a real TURN client.
    const turn = await allocate(relay);
    expect(await echoThrough(turn, "hello through the relay")).toBe("hello through the relay");
    const metrics = await (await fetch(`${relay.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/^turn_allocations 1$/m);
    expect(metrics).toMatch(/^turn_allocations_created_total\{transport="udp"\} 1$/m);
    expect(metrics).toMatch(/^turn_relayed_packets_total\{direction="client_to_peer"\} [1-9]/m);

    // Heartbeats: token, body, live load.
    await expect.poll(() => registry.heartbeats.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    expect(registry.heartbeats[0]!.authorization).toBe("Bearer node-token-e2e");
    expect(registry.heartbeats.at(-1)!.body).toMatchObject({ id: "e2e-1", region: "local", urls: relay.listening.urls, draining: false });

    // SIGTERM: draining is reported at once, readiness drops, the live allocation keeps relaying,
    // a new allocation is refused.
    relay.child.kill("SIGTERM");
    await relay.waitForLine((line) => line.event === "drain-started");
    await expect.poll(() => registry.heartbeats.some((beat) => beat.body.draining === true), { timeout: 5_000 }).toBe(true);
    expect((await fetch(`${relay.metricsUrl}/readyz`)).status).toBe(503);
    expect((await fetch(`${relay.metricsUrl}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${relay.metricsUrl}/metrics`)).text()).toMatch(/^turn_draining 1$/m);
    expect(await echoThrough(turn, "still relaying while draining")).toBe("still relaying while draining");
    expect(await errorCodeOf(withTimeout(allocate(relay), 15_000, "allocate while draining"))).toBe(508);
    expect(relay.child.exitCode).toBeNull();

    // The last allocation ends → drained → exit 0, with its usage record logged.
    await refreshZero(turn);
    expect(await relay.exited).toEqual({ code: 0, signal: null });
    const usage = relay.lines.find((line) => line.event === "allocation-ended");
    expect(usage).toMatchObject({ user: "alice", username: "alice", peers: 1, reason: "refresh-zero" });
    expect(usage!.bytesFromClient).toBeGreaterThan(0);
    expect(usage!.bytesToClient).toBeGreaterThan(0);
    expect(relay.lines.at(-1)).toMatchObject({ event: "exit", code: 0, reason: "drained" });
  });

  it("drains without exiting when the registry answers drain: true (redirecting to --drain-alternate-server)", async () => {
    let drainRequested = false;
    const registry = await registryStub(() => ({ ok: true, ttlSeconds: 15, drain: drainRequested }));
    const relay = await startRelay([
      ...DEV_ARGS,
      `--registry-url=${registry.url}`,
      "--node-token=t",
      "--region=local",
      "--heartbeat-interval=0.1",
      "--drain-alternate-server=127.0.0.2:3479",
    ]);
    await expect.poll(() => registry.heartbeats.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    expect((await fetch(`${relay.metricsUrl}/readyz`)).status).toBe(200);
    drainRequested = true;
    expect(await relay.waitForLine((line) => line.event === "drain-started")).toMatchObject({ reason: "registry" });
    await expect.poll(() => registry.heartbeats.some((beat) => beat.body.draining === true), { timeout: 5_000 }).toBe(true);
    expect((await fetch(`${relay.metricsUrl}/readyz`)).status).toBe(503);
    const redirect = await withTimeout(allocate(relay), 15_000, "allocate while draining").then(
      () => null,
      (error: { response?: Message }) => error.response,
    );
    expect(redirect?.getAttributeValue("ERROR-CODE")?.[0]).toBe(300);
    expect(redirect?.getAttributeValue("ALTERNATE-SERVER")).toEqual(["127.0.0.2", 3479]);
    // Nothing is live, yet the node stays up (out of rotation) until it is stopped.
    const heartbeatsSoFar = registry.heartbeats.length;
    await expect.poll(() => registry.heartbeats.length, { timeout: 5_000 }).toBeGreaterThan(heartbeatsSoFar + 2);
    expect(relay.child.exitCode).toBeNull();
    relay.child.kill("SIGTERM");
    expect(await withTimeout(relay.exited, 10_000, "exit after SIGTERM")).toEqual({ code: 0, signal: null });
  });

  it("with --cert and --pkey also serves STUN over TLS and advertises a turns: URL", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchboard-turn-tls-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const { certFile, keyFile } = makeSelfSignedCert(dir, "127.0.0.1");
    const relay = await startRelay([...DEV_ARGS, "--tls-listening-port=0", `--cert=${certFile}`, `--pkey=${keyFile}`]);
    const tlsListener = relay.listening.listeners.find((listener) => listener.transport === "tls");
    expect(tlsListener).toBeDefined();
    expect(relay.listening.urls).toContain(`turns:127.0.0.1:${tlsListener!.port}?transport=tcp`);
    const socket = connectTls({
      host: "127.0.0.1",
      port: tlsListener!.port,
      ca: readFileSync(certFile),
      servername: "127.0.0.1",
    });
    cleanups.push(() => {
      socket.destroy();
    });
    await once(socket, "secureConnect");
    const transactionId = randomBytes(12);
    const request = Buffer.alloc(20);
    request.writeUInt16BE(0x0001, 0);
    request.writeUInt32BE(0x2112a442, 4);
    transactionId.copy(request, 8);
    socket.write(request);
    const [answer] = (await once(socket, "data")) as [Buffer];
    expect(answer.readUInt16BE(0)).toBe(0x0101);
    expect(answer.subarray(8, 20).equals(transactionId)).toBe(true);
  });

  it("exits 0 at the drain deadline, logging the usage record of the call it ends", async () => {
    const relay = await startRelay([...DEV_ARGS, "--drain-timeout=1"]);
    const turn = await allocate(relay);
    expect(await echoThrough(turn, "ping")).toBe("ping");
    relay.child.kill("SIGTERM");
    expect(await withTimeout(relay.exited, 15_000, "exit at the drain deadline")).toEqual({ code: 0, signal: null });
    expect(relay.lines.find((line) => line.event === "drain-timeout")).toBeDefined();
    expect(relay.lines.find((line) => line.event === "allocation-ended")).toMatchObject({ user: "alice", reason: "shutdown" });
  });

  it("a second SIGTERM exits at once with 143", async () => {
    const relay = await startRelay([...DEV_ARGS, "--drain-timeout=600"]);
    await allocate(relay);
    relay.child.kill("SIGTERM");
    await relay.waitForLine((line) => line.event === "drain-started");
    relay.child.kill("SIGTERM");
    expect(await withTimeout(relay.exited, 10_000, "forced exit")).toEqual({ code: 143, signal: null });
  });

  it("exits at once on SIGTERM when nothing is live", async () => {
    const relay = await startRelay(DEV_ARGS);
    relay.child.kill("SIGINT");
    expect(await withTimeout(relay.exited, 10_000, "exit when idle")).toEqual({ code: 0, signal: null });
  });
});
