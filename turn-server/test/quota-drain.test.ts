/**
 * Quotas (486 per user, 508 node-wide and for an exhausted relay port range), the per-allocation
 * bandwidth budget, and draining (RFC 8656 §7.2 300 ALTERNATE-SERVER or 508 for new allocations while
 * live ones keep relaying, then "drained").
 */
import { describe, expect, it } from "vitest";
import { quotaHandler } from "../src/quota.ts";
import { Attr, MessageClass } from "../src/stun/constants.ts";
import { findAttribute } from "../src/stun/message.ts";
import { decodePlainAddress } from "../src/stun/xor-address.ts";
import { errorCodeOf, TestClient, TestPeer } from "./helpers/stun-client.ts";
import { ALICE, BOB, type TestServer, until, useTestServers } from "./helpers/test-server.ts";

const { defer, started } = useTestServers();

async function client(relay: TestServer): Promise<TestClient> {
  const created = await TestClient.connect("udp", relay.udp);
  defer(() => created.close());
  return created;
}

describe("quotas", () => {
  it("486 past the per-user quota, 508 past the node quota, with quota-refused events", async () => {
    const relay = await started({ quota: quotaHandler({ userQuota: 2, totalQuota: 3 }) });
    const refused = relay.record("quota-refused");
    expect((await (await client(relay)).allocate(ALICE)).relay).not.toBeNull();
    expect((await (await client(relay)).allocate(ALICE)).relay).not.toBeNull();
    expect(errorCodeOf((await (await client(relay)).allocate(ALICE)).response)).toBe(486);
    expect((await (await client(relay)).allocate(BOB)).relay).not.toBeNull();
    expect(errorCodeOf((await (await client(relay)).allocate(BOB)).response)).toBe(508);
    expect(refused.map((event) => [event.user, event.code])).toEqual([
      ["alice", 486],
      ["bob", 508],
    ]);
    expect(relay.server.stats().quotaRefusals).toBe(2);
  });

  it("508 when the relay port range is exhausted; the port comes back when the allocation ends", async () => {
    const probe = await TestPeer.bind();
    const port = probe.endpoint.port;
    await probe.close();
    const relay = await started({ minPort: port, maxPort: port });
    const first = await client(relay);
    expect((await first.allocate(ALICE)).relay?.port).toBe(port);
    const second = await client(relay);
    expect(errorCodeOf((await second.allocate(ALICE)).response)).toBe(508);
    await first.refresh(0);
    expect((await second.allocate(ALICE)).relay?.port).toBe(port);
  });

  it("a bandwidth budget drops over-budget packets and counts them", async () => {
    const relay = await started({ maxBytesPerSecond: 1000 });
    const turn = await client(relay);
    const peer = await TestPeer.bind();
    defer(() => peer.close());
    await turn.allocate(ALICE);
    await turn.channelBind(0x4000, peer.endpoint);
    const dropped = relay.server.stats().droppedPackets;
    for (let index = 0; index < 20; index++) turn.sendChannelData(0x4000, Buffer.alloc(200, index));
    // A 1000 B/s bucket holds one second: 5 of the 20 × 200 B go through at once, the rest are dropped.
    await until(
      () => relay.server.stats().droppedPackets - dropped + relay.server.stats().packetsClientToPeer >= 20,
      3000,
      "all 20 handled",
    );
    const relayed = relay.server.stats().packetsClientToPeer;
    expect(relayed).toBeGreaterThanOrEqual(5);
    expect(relayed).toBeLessThanOrEqual(6);
    for (let index = 0; index < relayed; index++) expect((await peer.received.take(2000, "within budget")).data[0]).toBe(index);
  });
});

describe("drain", () => {
  it("refuses new allocations with 300 ALTERNATE-SERVER, keeps live ones relaying, emits drained at the end", async () => {
    const relay = await started({});
    const live = await client(relay);
    const peer = await TestPeer.bind();
    defer(() => peer.close());
    await live.allocate(ALICE);
    await live.channelBind(0x4000, peer.endpoint);

    relay.server.startDrain({ address: "192.0.2.10", port: 3478 });
    expect(relay.server.stats().draining).toBe(true);
    const newcomer = await client(relay);
    const redirected = (await newcomer.allocate(ALICE)).response;
    expect(errorCodeOf(redirected)).toBe(300);
    const alternate = findAttribute(redirected, Attr.AlternateServer)!;
    expect(decodePlainAddress(redirected.raw, alternate.offset, alternate.length)).toEqual({
      address: "192.0.2.10",
      port: 3478,
      family: 4,
    });
    // RFC 8489 §10: a client using credentials ignores unauthenticated 300s, so it is signed.
    expect(redirected.integrity).not.toBeNull();

    expect((await live.refresh(600)).messageClass).toBe(MessageClass.SuccessResponse);
    live.sendChannelData(0x4000, Buffer.from("still live"));
    expect((await peer.received.take(2000, "live relay while draining")).data.toString()).toBe("still live");

    const drained = relay.next("drained");
    await live.refresh(0);
    await drained;
  });

  it("without an alternate answers 508; with nothing live, drained comes at once", async () => {
    const relay = await started({});
    const drained = relay.next("drained");
    relay.server.startDrain();
    await drained;
    expect(errorCodeOf((await (await client(relay)).allocate(ALICE)).response)).toBe(508);
  });
});
