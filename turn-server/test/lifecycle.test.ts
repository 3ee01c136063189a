/**
 * Lifetimes and resource release (RFC 8656 §6–§12): allocations expire and free their relay sockets,
 * permissions expire after 300 s, channels after 600 s with a 300 s cooldown, the optional age cap wins
 * over refreshes, a closed TCP connection ends its allocation, and close() leaves no socket or timer.
 * Time is moved with an injected clock; the server's own 1 s sweep does the ending.
 */
import { describe, expect, it } from "vitest";
import { Attr, MessageClass } from "../src/stun/constants.ts";
import { readUint32 } from "../src/stun/message.ts";
import { errorCodeOf, TestClient, TestPeer } from "./helpers/stun-client.ts";
import { ALICE, manualClock, openUdpSockets, startTestServer, type TestServer, until, useTestServers } from "./helpers/test-server.ts";

const { defer, started } = useTestServers();

async function connected(transport: "udp" | "tcp", relay: TestServer): Promise<TestClient> {
  const client = await TestClient.connect(transport, transport === "udp" ? relay.udp : relay.tcp);
  defer(() => client.close());
  return client;
}

async function boundPeer(): Promise<TestPeer> {
  const peer = await TestPeer.bind();
  defer(() => peer.close());
  return peer;
}

describe("allocation expiry", () => {
  it("ends an unrefreshed allocation, emits its usage record and closes its relay socket", async () => {
    const clock = manualClock();
    const relay = await started({ clock: clock.now });
    const turn = await connected("udp", relay);
    const peer = await boundPeer();
    const baseline = openUdpSockets();
    const { relay: relayed } = await turn.allocate(ALICE);
    expect(openUdpSockets()).toBe(baseline + 1);
    await turn.channelBind(0x4000, peer.endpoint);
    turn.sendChannelData(0x4000, Buffer.from("12345"));
    await peer.received.take(2000, "data before expiry");
    peer.send(Buffer.from("abc"), relayed!);
    await turn.channelData.take(2000, "data to client");

    const ended = relay.next("allocation-ended");
    clock.advance(601_000);
    const record = await ended;
    expect(record).toMatchObject({
      reason: "expired",
      user: "alice",
      username: "alice",
      peers: 1,
      bytesFromClient: 5,
      bytesToClient: 3,
      packetsFromClient: 1,
      packetsToClient: 1,
      relayPort: relayed!.port,
      client: { address: "127.0.0.1", port: turn.localPort, transport: "udp" },
    });
    expect(record.durationSeconds).toBeGreaterThanOrEqual(601);
    expect(relay.server.stats()).toMatchObject({ allocations: 0, permissions: 0, channels: 0 });
    await until(() => openUdpSockets() === baseline, 5000, "relay socket closed");
    // The 5-tuple is free again: Refresh now finds nothing.
    expect(errorCodeOf(await turn.refresh(600))).toBe(437);
  });

  it("maxAllocationAgeSeconds caps the lifetime whatever the refreshes ask", async () => {
    const clock = manualClock();
    const relay = await started({ clock: clock.now, maxAllocationAgeSeconds: 900 });
    const turn = await connected("udp", relay);
    await turn.allocate(ALICE);
    clock.advance(500_000);
    // 900 s cap − 500 s elapsed: at most 400 s left, though 3600 was asked for.
    expect(readUint32(await turn.refresh(3600), Attr.Lifetime)).toBe(400);
    const ended = relay.next("allocation-ended");
    clock.advance(401_000);
    expect((await ended).reason).toBe("max-age");
  });
});

describe("permission and channel lifetimes", () => {
  it("a permission lapses after 300 s; CreatePermission restores it", async () => {
    const clock = manualClock();
    const relay = await started({ clock: clock.now });
    const turn = await connected("udp", relay);
    const peer = await boundPeer();
    const { relay: relayed } = await turn.allocate(ALICE);
    await turn.createPermission(peer.endpoint);
    clock.advance(301_000);
    const dropped = relay.server.stats().droppedPackets;
    turn.sendIndication(peer.endpoint, Buffer.from("lapsed"));
    peer.send(Buffer.from("lapsed too"), relayed!);
    await until(() => relay.server.stats().droppedPackets === dropped + 2, 2000, "both directions dropped");
    await turn.createPermission(peer.endpoint);
    turn.sendIndication(peer.endpoint, Buffer.from("renewed"));
    expect((await peer.received.take(2000, "after renewal")).data.toString()).toBe("renewed");
    peer.send(Buffer.from("renewed too"), relayed!);
    expect((await turn.dataIndications.take(2000, "after renewal")).data.toString()).toBe("renewed too");
  });

  it("a channel stops at 600 s, stays reserved for 300 s more, then can be rebound elsewhere", async () => {
    const clock = manualClock();
    const relay = await started({ clock: clock.now });
    const turn = await connected("udp", relay);
    const peer = await boundPeer();
    const other = { address: "127.0.0.1", port: peer.endpoint.port + 1 };
    await turn.allocate(ALICE);
    await turn.channelBind(0x4100, peer.endpoint);
    // Keep the permission alive (CreatePermission) while the channel itself lapses.
    clock.advance(299_000);
    await turn.createPermission(peer.endpoint);
    clock.advance(299_000);
    await turn.createPermission(peer.endpoint);
    clock.advance(3_000);
    turn.sendChannelData(0x4100, Buffer.from("channel lapsed"));
    turn.sendIndication(peer.endpoint, Buffer.from("marker"));
    expect((await peer.received.take(2000, "marker")).data.toString()).toBe("marker");
    expect(errorCodeOf(await turn.channelBind(0x4100, other))).toBe(400);
    // Rebinding the same pair during the cooldown is a refresh and works.
    expect((await turn.channelBind(0x4100, peer.endpoint)).messageClass).toBe(MessageClass.SuccessResponse);
    clock.advance(601_000 + 300_000);
    await turn.refresh(3600);
    // Let the sweep prune (every few seconds); once pruned, the number is free for another peer.
    await until(() => relay.server.stats().channels === 0, 8000, "channel pruned after cooldown");
    expect((await turn.channelBind(0x4100, other)).messageClass).toBe(MessageClass.SuccessResponse);
  });
});

describe("stream connections", () => {
  it("closing the TCP connection ends its allocation", async () => {
    const relay = await started({});
    const turn = await TestClient.connect("tcp", relay.tcp);
    const baseline = openUdpSockets();
    await turn.allocate(ALICE);
    expect(openUdpSockets()).toBe(baseline + 1);
    const ended = relay.next("allocation-ended");
    await turn.close();
    expect((await ended).reason).toBe("connection-closed");
    await until(() => openUdpSockets() === baseline, 5000, "relay socket closed");
  });
});

describe("idle connections", () => {
  it("closes a TCP connection that made no allocation within 30 s; one with an allocation stays", async () => {
    const clock = manualClock();
    const relay = await started({ clock: clock.now });
    const idle = await connected("tcp", relay);
    const busy = await connected("tcp", relay);
    await busy.allocate(ALICE);
    // Prove the idle connection works before the timeout.
    expect((await idle.transact(TestClient.request(0x001).finish())).messageClass).toBe(MessageClass.SuccessResponse);
    clock.advance(31_000);
    await until(() => idle.streamClosed, 5000, "idle connection closed by the sweep");
    expect(busy.streamClosed).toBe(false);
    expect((await busy.refresh(600)).messageClass).toBe(MessageClass.SuccessResponse);
  });
});

describe("close()", () => {
  it("ends live allocations as shutdown and returns sockets and timers to the baseline", async () => {
    // Sockets of earlier tests close asynchronously: start from none.
    await until(() => openUdpSockets() === 0, 5000, "earlier sockets closed");
    const sockets = openUdpSockets();
    const timers = process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
    const relay = await startTestServer({}, true);
    const clients = await Promise.all([
      TestClient.connect("udp", relay.udp),
      TestClient.connect("tcp", relay.tcp),
      TestClient.connect("tls", relay.tls!),
    ]);
    for (const client of clients) await client.allocate(ALICE);
    expect(relay.server.stats().allocations).toBe(3);
    const ended = relay.record("allocation-ended");
    await relay.close();
    expect(ended.map((record) => record.reason)).toEqual(["shutdown", "shutdown", "shutdown"]);
    for (const client of clients) await client.close();
    await until(() => openUdpSockets() === sockets, 5000, "all UDP sockets closed");
    await until(() => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length <= timers, 5000, "timers released");
    expect(relay.internalErrors).toEqual([]);
  });
});
