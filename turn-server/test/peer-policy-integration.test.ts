/**
 * The relay with the production peer policy (peer-policy.ts): by default loopback and the metadata
 * address 169.254.169.254 are refused in every IPv4 and IPv6 spelling — 403 on an IPv6 allocation, 443
 * for IPv6 spellings on an IPv4 allocation, never relayed — and `allowLoopback` opens plain loopback.
 */
import { describe, expect, it } from "vitest";
import { createPeerPolicy } from "../src/peer-policy.ts";
import { MessageClass } from "../src/stun/constants.ts";
import { errorCodeOf, TestClient, TestPeer } from "./helpers/stun-client.ts";
import { ALICE, type TestServer, useTestServers } from "./helpers/test-server.ts";

const { defer, started: startedWith } = useTestServers();

function started(allowLoopback: boolean): Promise<TestServer> {
  return startedWith({ relayAddresses: ["127.0.0.1", "::1"], peerPolicy: createPeerPolicy({ allowLoopback }) });
}

async function allocated(relay: TestServer, family: 4 | 6): Promise<TestClient> {
  const client = await TestClient.connect("udp", relay.udp);
  defer(() => client.close());
  const { relay: relayed } = await client.allocate(ALICE, (builder) => {
    if (family === 6) builder.addUint32(0x0017, 0x02 << 24);
  });
  expect(relayed?.family).toBe(family);
  return client;
}

const V4_SPELLINGS = ["127.0.0.1", "169.254.169.254"];
const V6_SPELLINGS = [
  "::1",
  "::ffff:127.0.0.1",
  "::127.0.0.1",
  "::ffff:0:127.0.0.1",
  "64:ff9b::7f00:1",
  "64:ff9b:1::7f00:1",
  "2002:7f00:1::1",
  "2001:0:4136:e378:8000:63bf:80ff:fffe",
  "::ffff:169.254.169.254",
  "64:ff9b::a9fe:a9fe",
  "2002:a9fe:a9fe::1",
];

describe("default peer policy", () => {
  it("refuses loopback and metadata peers in every spelling, on IPv4 and IPv6 allocations", async () => {
    const relay = await started(false);
    const v4 = await allocated(relay, 4);
    const v6 = await allocated(relay, 6);
    for (const address of V4_SPELLINGS) {
      expect(errorCodeOf(await v4.createPermission({ address, port: 9 })), address).toBe(403);
      expect(errorCodeOf(await v4.channelBind(0x4000, { address, port: 9 })), address).toBe(403);
    }
    for (const address of V6_SPELLINGS) {
      expect(errorCodeOf(await v4.createPermission({ address, port: 9 })), address).toBe(443);
      expect(errorCodeOf(await v6.createPermission({ address, port: 9 })), address).toBe(403);
      expect(errorCodeOf(await v6.channelBind(0x4001, { address, port: 9 })), address).toBe(403);
    }
    expect(relay.server.stats().permissions).toBe(0);
    expect(relay.server.stats().deniedPeers).toBe(V4_SPELLINGS.length * 2 + V6_SPELLINGS.length * 3);
  });
});

describe("allowLoopback", () => {
  it("opens plain loopback for a relay test, still refusing the metadata address", async () => {
    const relay = await started(true);
    const turn = await allocated(relay, 4);
    const peer = await TestPeer.bind();
    defer(() => peer.close());
    expect((await turn.channelBind(0x4000, peer.endpoint)).messageClass).toBe(MessageClass.SuccessResponse);
    turn.sendChannelData(0x4000, Buffer.from("loopback ok"));
    expect((await peer.received.take(2000, "loopback peer")).data.toString()).toBe("loopback ok");
    expect(errorCodeOf(await turn.createPermission({ address: "169.254.169.254", port: 80 }))).toBe(403);
  });
});
