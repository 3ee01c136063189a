/**
 * Starts a relay on loopback for a test: UDP + TCP (+ TLS on request) on port 0, relay on 127.0.0.1,
 * static user alice/secret, and a peer policy that allows exactly 127.0.0.0/8 (and ::1 when asked) —
 * opened explicitly for loopback tests, never a blanket allow. Records internal errors so tests can
 * assert there were none.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect } from "vitest";
import { makeSelfSignedCert } from "../../../test/support/tls-cert.ts";
import { staticUsersAuthHandler } from "../../src/auth.ts";
import type { TurnEvents } from "../../src/events.ts";
import type { PeerPolicy } from "../../src/handlers.ts";
import type { TurnServerOptions } from "../../src/options.ts";
import { createTurnServer } from "../../src/server.ts";
import type { BoundListener, TurnServer } from "../../src/server-api.ts";
import { parseIp } from "../../src/stun/ip.ts";
import type { DatagramIo } from "../../src/transports/datagram.ts";
import { dgramIo } from "../../src/transports/dgram-io.ts";
import { loadNativeIo, openNativeSockets } from "../../src/transports/native-io.ts";
import type { Endpoint } from "./stun-client.ts";

/**
 * The UDP implementation these tests run on: Node's dgram, or the batched native path when
 * TURN_TEST_UDP_IO=native (the vitest project "turn-native" runs every turn-server/test file that way).
 */
export const TEST_UDP_IO: DatagramIo = process.env.TURN_TEST_UDP_IO === "native" ? loadNativeIo() : dgramIo;

/** The test user. */
export const ALICE = { username: "alice", password: "secret" };
export const BOB = { username: "bob", password: "hunter2" };

/** Allows 127.0.0.0/8 and ::1 only (loopback tests); everything else is denied. */
export const allowLoopbackOnly: PeerPolicy = (address) => {
  const ip = parseIp(address);
  if (ip === null) return "deny";
  if (ip.length === 4) return ip[0] === 127 ? "allow" : "deny";
  return ip.every((byte, index) => byte === (index === 15 ? 1 : 0)) ? "allow" : "deny";
};

/** A running test server. */
export interface TestServer {
  server: TurnServer;
  bound: BoundListener[];
  udp: Endpoint;
  tcp: Endpoint;
  tls: Endpoint | undefined;
  internalErrors: TurnEvents["internal-error"][0][];
  /** Collects events of one kind from now on. */
  record<K extends keyof TurnEvents>(event: K): TurnEvents[K][0][];
  /** Resolves with the next event of a kind (bounded wait). */
  next<K extends keyof TurnEvents>(event: K, timeoutMs?: number): Promise<TurnEvents[K][0]>;
  close(): Promise<void>;
}

let certificate: { cert: string; key: string } | undefined;

/** A self-signed certificate for 127.0.0.1 (test/support/tls-cert.ts), made once per process. */
export function selfSignedCertificate(): { cert: string; key: string } {
  if (certificate) return certificate;
  const directory = mkdtempSync(join(tmpdir(), "turn-tls-"));
  try {
    const { certFile, keyFile } = makeSelfSignedCert(directory, "127.0.0.1");
    certificate = { cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8") };
    return certificate;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** Starts a server with test defaults overridden by `overrides`; `withTls` adds a TLS listener. */
export async function startTestServer(overrides: Partial<TurnServerOptions> = {}, withTls = false): Promise<TestServer> {
  const listeners: TurnServerOptions["listeners"] = [
    { transport: "udp", address: "127.0.0.1", port: 0 },
    { transport: "tcp", address: "127.0.0.1", port: 0 },
  ];
  if (withTls) listeners.push({ transport: "tls", address: "127.0.0.1", port: 0 });
  const server = createTurnServer({
    realm: "test.realm",
    listeners,
    ...(withTls ? { tls: selfSignedCertificate() } : {}),
    relayAddresses: ["127.0.0.1"],
    auth: staticUsersAuthHandler(
      new Map([
        [ALICE.username, ALICE.password],
        [BOB.username, BOB.password],
      ]),
    ),
    peerPolicy: allowLoopbackOnly,
    udpIo: TEST_UDP_IO,
    ...overrides,
  });
  const internalErrors: TurnEvents["internal-error"][0][] = [];
  server.on("internal-error", (event) => internalErrors.push(event));
  const bound = await server.listen();
  const find = (transport: string) => {
    const listener = bound.find((candidate) => candidate.transport === transport);
    return listener ? { address: listener.address, port: listener.port } : undefined;
  };
  return {
    server,
    bound,
    udp: find("udp")!,
    tcp: find("tcp")!,
    tls: find("tls"),
    internalErrors,
    record(event) {
      const events: never[] = [];
      server.on(event, ((payload: never) => events.push(payload)) as never);
      return events;
    },
    next(event, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${String(event)}" event within ${timeoutMs} ms`)), timeoutMs);
        server.once(event, ((payload: never) => {
          clearTimeout(timer);
          resolve(payload);
        }) as never);
      });
    },
    close: () => server.close(),
  };
}

/** A clock tests can move forward. */
export function manualClock(start = Date.now()): { now: () => number; advance(ms: number): void } {
  let current = start;
  return {
    now: () => current,
    advance(ms) {
      current += ms;
    },
  };
}

/** Counts open UDP sockets of this process: Node's (libuv UDPWrap handles) and the native path's. */
export function openUdpSockets(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === "UDPWrap").length + openNativeSockets();
}

/** Waits until `predicate` holds, polling each event-loop turn (bounded by `timeoutMs`). */
export async function until(predicate: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Per-file test scope: `defer` registers a cleanup run after each test (newest first); `started` starts a
 * server that is closed then, asserting it caught no internal error. Call once at a test file's top level. */
export function useTestServers(): {
  defer: (cleanup: () => Promise<void> | void) => void;
  started: (overrides?: Parameters<typeof startTestServer>[0]) => Promise<TestServer>;
} {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    defer: (cleanup) => {
      cleanups.push(cleanup);
    },
    started: async (overrides) => {
      const relay = await startTestServer(overrides);
      cleanups.push(async () => {
        await relay.close();
        expect(relay.internalErrors).toEqual([]);
      });
      return relay;
    },
  };
}
