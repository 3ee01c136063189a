/**
 * Relaying through an allocation over each client transport (RFC 8656 §12): ChannelData client → peer
 * and peer → client, padding on streams (§12.5), odd payload sizes, and an IPv6 relay for an IPv6 client.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MessageClass } from "../src/stun/constants.ts";
import { TestClient, TestPeer } from "./helpers/stun-client.ts";
import { ALICE, startTestServer, type TestServer } from "./helpers/test-server.ts";

let relay: TestServer;

beforeAll(async () => {
  relay = await startTestServer({}, true);
});

afterAll(async () => {
  await relay.close();
  expect(relay.internalErrors).toEqual([]);
});

describe.each(["udp", "tcp", "tls"] as const)("ChannelData over %s", (transport) => {
  it("flows both ways, with payload sizes that need padding on streams", async () => {
    const endpoint = transport === "udp" ? relay.udp : transport === "tcp" ? relay.tcp : relay.tls!;
    const turn = await TestClient.connect(transport, endpoint);
    const peer = await TestPeer.bind();
    try {
      const { relay: relayed } = await turn.allocate(ALICE);
      expect(relayed).not.toBeNull();
      expect((await turn.channelBind(0x4001, peer.endpoint)).messageClass).toBe(MessageClass.SuccessResponse);
      for (const size of [0, 1, 2, 3, 4, 5, 99, 1200]) {
        const outbound = Buffer.alloc(size, size & 0xff);
        turn.sendChannelData(0x4001, outbound);
        const atPeer = await peer.received.take(2000, `client → peer ${size} bytes`);
        expect(atPeer.data).toEqual(outbound);
        expect(atPeer.from).toEqual({ address: "127.0.0.1", port: relayed!.port });

        const inbound = Buffer.alloc(size, 0xa0 ^ (size & 0xff));
        peer.send(inbound, relayed!);
        const atClient = await turn.channelData.take(2000, `peer → client ${size} bytes`);
        expect(atClient).toEqual({ channel: 0x4001, data: inbound });
      }
      // A ChannelData frame for an unbound channel is dropped; the next good one still arrives.
      turn.sendChannelData(0x4abc, Buffer.from("unbound"));
      turn.sendChannelData(0x4001, Buffer.from("bound"));
      expect((await peer.received.take(2000, "bound after unbound")).data.toString()).toBe("bound");
    } finally {
      await turn.close();
      await peer.close();
    }
  });
});

describe("IPv6", () => {
  it("an IPv6 client gets an IPv6 relay (REQUESTED-ADDRESS-FAMILY) and relays to an IPv6 peer", async () => {
    const dual = await startTestServer({
      listeners: [{ transport: "udp", address: "::1", port: 0 }],
      relayAddresses: ["127.0.0.1", "::1"],
    });
    const turn = await TestClient.connect("udp", dual.udp);
    const peer = await TestPeer.bind("::1");
    try {
      const { relay: relayed } = await turn.allocate(ALICE, (builder) => builder.addUint32(0x0017, 0x02 << 24));
      expect(relayed).toMatchObject({ address: "::1", family: 6 });
      await turn.channelBind(0x4002, peer.endpoint);
      turn.sendChannelData(0x4002, Buffer.from("over v6"));
      expect((await peer.received.take(2000, "v6 peer")).data.toString()).toBe("over v6");
      peer.send(Buffer.from("back over v6"), relayed!);
      expect((await turn.channelData.take(2000, "v6 client")).data.toString()).toBe("back over v6");
      // Without REQUESTED-ADDRESS-FAMILY an allocation is IPv4 (RFC 8656 §7.2), even for an IPv6 client.
      const other = await TestClient.connect("udp", dual.udp);
      expect((await other.allocate(ALICE)).relay).toMatchObject({ address: "127.0.0.1", family: 4 });
      await other.close();
    } finally {
      await turn.close();
      await peer.close();
      await dual.close();
    }
    expect(dual.internalErrors).toEqual([]);
  });
});
