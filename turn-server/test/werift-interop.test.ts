/**
 * Interop with a real, independent TURN client: werift's `createTurnClient` (pure TypeScript WebRTC)
 * over UDP, TCP and TLS — Allocate with REST credentials, ChannelBind (werift binds a channel per peer,
 * falling back to CreatePermission + Send), and an echo through a peer UDP socket. Also: expired and
 * forged credentials are refused at Allocate, and an allocation keeps refreshing after its credential
 * has expired.
 */
import { createSocket, type Socket } from "node:dgram";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTurnClient } from "werift";
import { mintTurnCredential } from "../../protocol/turn-credentials.ts";
import { restAuthHandler } from "../src/auth.ts";
import { selfSignedCertificate, startTestServer, type TestServer } from "./helpers/test-server.ts";

const SECRET = "werift-interop-secret";
let relay: TestServer;
let echo: Socket;
let echoPort: number;

beforeAll(async () => {
  relay = await startTestServer({ auth: restAuthHandler([SECRET]), defaultLifetimeSeconds: 3, maxLifetimeSeconds: 3 }, true);
  echo = createSocket("udp4");
  // The peer: echoes every datagram back to whoever sent it (the client's relayed address).
  echo.on("message", (message, remote) => echo.send(message, remote.port, remote.address));
  await new Promise<void>((resolve) => echo.bind(0, "127.0.0.1", () => resolve()));
  echoPort = echo.address().port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => echo.close(() => resolve()));
  await relay.close();
  expect(relay.internalErrors).toEqual([]);
});

type TurnClient = Awaited<ReturnType<typeof createTurnClient>>;

function endpointFor(transport: "udp" | "tcp" | "tls"): [string, number] {
  const endpoint = transport === "udp" ? relay.udp : transport === "tcp" ? relay.tcp : relay.tls!;
  return [endpoint.address, endpoint.port];
}

async function connect(transport: "udp" | "tcp" | "tls", username: string, password: string): Promise<TurnClient> {
  return createTurnClient(
    { address: endpointFor(transport), username, password },
    { transport, ...(transport === "tls" ? { tlsOptions: { ca: selfSignedCertificate().cert } } : {}) },
  );
}

/** Sends `payload` to the echo peer through the relay and resolves with what comes back. */
function echoThrough(turn: TurnClient, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no echo within 5 s")), 5000);
    const subscription = turn.onData.subscribe((data) => {
      if (!Buffer.from(data).equals(payload)) return;
      clearTimeout(timer);
      subscription.unSubscribe();
      resolve(Buffer.from(data));
    });
    turn.sendData(payload, ["127.0.0.1", echoPort]).catch(reject);
  });
}

describe.each(["udp", "tcp", "tls"] as const)("werift over %s", (transport) => {
  it("allocates, binds a channel and echoes through a peer", async () => {
    const credential = await mintTurnCredential(SECRET, `werift-${transport}`, 600);
    const turn = await connect(transport, credential.username, credential.credential);
    try {
      expect(turn.relayedAddress[0]).toBe("127.0.0.1");
      for (const size of [1, 3, 100, 1001]) {
        const payload = Buffer.alloc(size, size);
        expect(await echoThrough(turn, payload)).toEqual(payload);
      }
      // werift bound a channel for the peer (it only falls back to Send indications when that fails).
      expect(relay.server.stats().channels).toBeGreaterThanOrEqual(1);
    } finally {
      await turn.close();
    }
  });
});

describe("werift and REST credential lifetimes", () => {
  it("refuses expired and forged credentials at Allocate", async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await mintTurnCredential(SECRET, "late", 60, now - 3600);
    const forged = await mintTurnCredential("guessed-secret", "mallory", 600, now);
    const created = relay.record("allocation-created");
    const failures = relay.record("auth-failure");
    const results = await Promise.allSettled([
      connect("udp", expired.username, expired.credential),
      connect("udp", forged.username, forged.credential),
    ]);
    expect(results.map((result) => result.status)).toEqual(["rejected", "rejected"]);
    expect(created).toEqual([]);
    expect(new Set(failures.map((failure) => failure.reason))).toEqual(new Set(["refused", "bad-integrity"]));
  }, 20_000);

  it("an allocation made before its credential expired keeps refreshing and relaying after it", async () => {
    // 2 s credential; the relay grants 3 s lifetimes, so werift refreshes every 2.5 s.
    const credential = await mintTurnCredential(SECRET, "long-call", 2);
    const turn = await connect("udp", credential.username, credential.credential);
    const ended = relay.record("allocation-ended");
    try {
      expect(await echoThrough(turn, Buffer.from("before expiry"))).toEqual(Buffer.from("before expiry"));
      // Wait past the credential's expiry and past the first lifetime (two werift refreshes).
      await new Promise((resolve) => setTimeout(resolve, 5500));
      expect(Date.now() / 1000).toBeGreaterThan(credential.expiresAt + 2);
      expect(ended.filter((record) => record.user === "long-call")).toEqual([]);
      expect(await echoThrough(turn, Buffer.from("after expiry"))).toEqual(Buffer.from("after expiry"));
    } finally {
      await turn.close();
    }
  }, 20_000);
});
