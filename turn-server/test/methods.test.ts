/** Each STUN/TURN method and error code over real loopback sockets (RFC 8489, RFC 8656). */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StunMessageBuilder } from "../src/stun/builder.ts";
import { Attr, MessageClass, Method } from "../src/stun/constants.ts";
import { verifyIntegrity } from "../src/stun/integrity.ts";
import {
  decodeStunMessage,
  findAttribute,
  readBytes,
  readString,
  readUint32,
  readXorAddress,
  type StunMessage,
} from "../src/stun/message.ts";
import { decodePlainAddress } from "../src/stun/xor-address.ts";
import { errorCodeOf, TestClient, TestPeer } from "./helpers/stun-client.ts";
import { ALICE, BOB, manualClock, startTestServer, type TestServer } from "./helpers/test-server.ts";

const UDP_TRANSPORT = 17 << 24;

function unknownAttributes(message: StunMessage): number[] {
  const value = readBytes(message, Attr.UnknownAttributes)!;
  const types: number[] = [];
  for (let offset = 0; offset + 1 < value.length; offset += 2) types.push(value.readUInt16BE(offset));
  return types;
}

let relay: TestServer;
const clients: TestClient[] = [];
const peers: TestPeer[] = [];

async function client(transport: "udp" | "tcp" = "udp", localAddress?: string): Promise<TestClient> {
  const created = await TestClient.connect(transport, transport === "udp" ? relay.udp : relay.tcp, localAddress);
  clients.push(created);
  return created;
}

async function peer(address?: string): Promise<TestPeer> {
  const created = await TestPeer.bind(address);
  peers.push(created);
  return created;
}

beforeEach(async () => {
  relay = await startTestServer({ maxPermissionsPerAllocation: 3 });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((each) => each.close()));
  await Promise.all(peers.splice(0).map((each) => each.close()));
  await relay.close();
  expect(relay.internalErrors).toEqual([]);
});

describe("Binding", () => {
  it("answers with XOR-MAPPED-ADDRESS and mirrors FINGERPRINT", async () => {
    const stun = await client();
    const response = await stun.transact(TestClient.request(Method.Binding).finish({ fingerprint: true }));
    expect(response.messageClass).toBe(MessageClass.SuccessResponse);
    expect(readXorAddress(response, findAttribute(response, Attr.XorMappedAddress)!)).toEqual({
      address: "127.0.0.1",
      port: stun.localPort,
      family: 4,
    });
    expect(response.hasFingerprint).toBe(true);
    expect(readString(response, Attr.Software)).toBe("switchboard-turn");
  });

  it("420 lists unknown comprehension-required attributes; optional ones are ignored", async () => {
    const stun = await client();
    const rejected = await stun.transact(TestClient.request(Method.Binding).addUint32(0x0031, 1).addUint32(0x8123, 1).finish());
    expect(errorCodeOf(rejected)).toBe(420);
    expect(unknownAttributes(rejected)).toEqual([0x0031]);
    const accepted = await stun.transact(TestClient.request(Method.Binding).addUint32(0x8123, 1).finish());
    expect(accepted.messageClass).toBe(MessageClass.SuccessResponse);
  });

  it("400 for broken attribute framing and for an unknown method", async () => {
    const stun = await client();
    const broken = TestClient.request(Method.Binding).addString(Attr.Software, "abcd").finish();
    broken.writeUInt16BE(200, 22);
    expect(errorCodeOf(await stun.transact(broken))).toBe(400);
    expect(errorCodeOf(await stun.transact(TestClient.request(0x00b).finish()))).toBe(400);
  });
});

describe("Allocate", () => {
  it("401 with REALM and NONCE when unauthenticated, then allocates", async () => {
    const turn = await client();
    const challenge = await turn.transact(TestClient.request(Method.Allocate).addUint32(Attr.RequestedTransport, UDP_TRANSPORT).finish());
    expect(errorCodeOf(challenge)).toBe(401);
    expect(readString(challenge, Attr.Realm)).toBe("test.realm");
    expect(readString(challenge, Attr.Nonce)).toMatch(/^[0-9a-f]{32}$/);
    expect(challenge.integrity).toBeNull();

    const { response, relay: relayed, lifetime } = await turn.allocate(ALICE);
    expect(response.messageClass).toBe(MessageClass.SuccessResponse);
    expect(relayed?.address).toBe("127.0.0.1");
    expect(relayed?.port).toBeGreaterThanOrEqual(49152);
    expect(lifetime).toBe(600);
    expect(readXorAddress(response, findAttribute(response, Attr.XorMappedAddress)!)?.port).toBe(turn.localPort);
    expect(verifyIntegrity("sha1", turn.key(), response.raw, response.integrity!.offset, 20)).toBe(true);
    expect(relay.server.stats().allocations).toBe(1);
  });

  it("a retransmitted Allocate gets the same response; a new one on the 5-tuple gets 437", async () => {
    const turn = await client();
    const first = await turn.allocate(ALICE);
    // Resend the creating request (same transaction id, RFC 8656 §7.2): the identical stored answer.
    const retransmission = new StunMessageBuilder(Method.Allocate, MessageClass.Request, first.response.transactionId)
      .addUint32(Attr.RequestedTransport, UDP_TRANSPORT)
      .addString(Attr.Username, ALICE.username)
      .addString(Attr.Realm, turn.realm!)
      .addString(Attr.Nonce, turn.nonce!)
      .finish({ integrity: { key: turn.key(), algorithm: "sha1" }, fingerprint: true });
    const repeated = await turn.transact(retransmission);
    expect(repeated.raw).toEqual(first.response.raw);
    // A new Allocate (new transaction id) on a 5-tuple that has an allocation: 437, signed.
    const again = await turn.allocate(ALICE);
    expect(errorCodeOf(again.response)).toBe(437);
    expect(verifyIntegrity("sha1", turn.key(), again.response.raw, again.response.integrity!.offset, 20)).toBe(true);
    expect(relay.server.stats().allocations).toBe(1);
  });

  it("400 without REQUESTED-TRANSPORT, 442 for TCP, 420 for DONT-FRAGMENT, 440 for IPv6 without an IPv6 relay", async () => {
    const turn = await client();
    turn.credentials = ALICE;
    expect(errorCodeOf(await turn.authenticated(Method.Allocate))).toBe(400);
    expect(errorCodeOf(await turn.authenticated(Method.Allocate, (builder) => builder.addUint32(Attr.RequestedTransport, 6 << 24)))).toBe(
      442,
    );
    const dontFragment = await turn.authenticated(Method.Allocate, (builder) =>
      builder.addUint32(Attr.RequestedTransport, UDP_TRANSPORT).addBytes(Attr.DontFragment, new Uint8Array(0)),
    );
    expect(errorCodeOf(dontFragment)).toBe(420);
    expect(unknownAttributes(dontFragment)).toEqual([Attr.DontFragment]);
    const ipv6 = await turn.authenticated(Method.Allocate, (builder) =>
      builder.addUint32(Attr.RequestedTransport, UDP_TRANSPORT).addUint32(Attr.RequestedAddressFamily, 0x02 << 24),
    );
    expect(errorCodeOf(ipv6)).toBe(440);
    // Error answers to authenticated requests are signed.
    expect(verifyIntegrity("sha1", turn.key(), ipv6.raw, ipv6.integrity!.offset, 20)).toBe(true);
    expect(relay.server.stats().allocations).toBe(0);
  });

  it("401 for a wrong password and an unknown user, with an auth-failure event", async () => {
    const failures = relay.record("auth-failure");
    const wrong = await client();
    expect(errorCodeOf((await wrong.allocate({ username: "alice", password: "nope" })).response)).toBe(401);
    const unknown = await client();
    expect(errorCodeOf((await unknown.allocate({ username: "mallory", password: "x" })).response)).toBe(401);
    expect(failures.map((failure) => failure.reason)).toEqual(["bad-integrity", "refused"]);
    expect(relay.server.stats().authFailures).toBe(2);
  });

  it("MESSAGE-INTEGRITY-SHA256 requests are answered with MESSAGE-INTEGRITY-SHA256", async () => {
    const turn = await client();
    turn.credentials = ALICE;
    const response = await turn.authenticated(Method.Allocate, (builder) => builder.addUint32(Attr.RequestedTransport, UDP_TRANSPORT), {
      sha256: true,
    });
    expect(response.messageClass).toBe(MessageClass.SuccessResponse);
    expect(response.integrity).toBeNull();
    expect(verifyIntegrity("sha256", turn.key(), response.raw, response.integritySha256!.offset, 32)).toBe(true);
  });

  it("EVEN-PORT with R reserves the next port; RESERVATION-TOKEN claims it; bad combinations fail", async () => {
    const first = await client();
    const even = await first.allocate(ALICE, (builder) => builder.addBytes(Attr.EvenPort, new Uint8Array([0x80])));
    expect(even.relay!.port % 2).toBe(0);
    const token = readBytes(even.response, Attr.ReservationToken)!;
    expect(token.length).toBe(8);

    const second = await client();
    const reserved = await second.allocate(ALICE, (builder) => builder.addBytes(Attr.ReservationToken, token));
    expect(reserved.relay!.port).toBe(even.relay!.port + 1);

    const third = await client();
    expect(errorCodeOf((await third.allocate(ALICE, (builder) => builder.addBytes(Attr.ReservationToken, token))).response)).toBe(508);
    const both = await third.allocate(ALICE, (builder) =>
      builder.addBytes(Attr.ReservationToken, token).addBytes(Attr.EvenPort, new Uint8Array([0])),
    );
    expect(errorCodeOf(both.response)).toBe(400);
  });

  it("438 with a fresh nonce when the nonce is stale, then succeeds", async () => {
    const clock = manualClock();
    await relay.close();
    relay = await startTestServer({ clock: clock.now, nonceLifetimeSeconds: 60 });
    const turn = await client();
    await turn.allocate(ALICE);
    const oldNonce = turn.nonce;
    clock.advance(61_000);
    const stale = await turn.transact(
      TestClient.request(Method.Refresh)
        .addString(Attr.Username, ALICE.username)
        .addString(Attr.Realm, turn.realm!)
        .addString(Attr.Nonce, oldNonce!)
        .finish({ integrity: { key: turn.key(), algorithm: "sha1" } }),
    );
    expect(errorCodeOf(stale)).toBe(438);
    expect(readString(stale, Attr.Nonce)).not.toBe(oldNonce);
    expect(verifyIntegrity("sha1", turn.key(), stale.raw, stale.integrity!.offset, 20)).toBe(true);
    // The helper retries 438 with the new nonce.
    expect((await turn.refresh(600)).messageClass).toBe(MessageClass.SuccessResponse);
  });
});

describe("Refresh", () => {
  it("clamps to the maximum, raises short requests to the default, deletes at 0", async () => {
    const turn = await client();
    await turn.allocate(ALICE);
    expect(readUint32(await turn.refresh(999_999), Attr.Lifetime)).toBe(3600);
    expect(readUint32(await turn.refresh(30), Attr.Lifetime)).toBe(600);
    expect(readUint32(await turn.refresh(), Attr.Lifetime)).toBe(600);
    const ended = relay.next("allocation-ended");
    const deleted = await turn.refresh(0);
    expect(readUint32(deleted, Attr.Lifetime)).toBe(0);
    expect((await ended).reason).toBe("refresh-zero");
    expect(errorCodeOf(await turn.refresh(600))).toBe(437);
  });

  it("437 without an allocation, 443 for another address family, 441 for other credentials", async () => {
    const turn = await client();
    turn.credentials = ALICE;
    expect(errorCodeOf(await turn.refresh(600))).toBe(437);
    await turn.allocate(ALICE);
    const family = await turn.authenticated(Method.Refresh, (builder) => builder.addUint32(Attr.RequestedAddressFamily, 0x02 << 24));
    expect(errorCodeOf(family)).toBe(443);
    turn.credentials = BOB;
    expect(errorCodeOf(await turn.refresh(600))).toBe(441);
  });
});

describe("CreatePermission", () => {
  it("installs permissions; 400 without a peer; 403 for a denied peer; 443 for IPv6 on IPv4; 508 over the cap; 437 without allocation", async () => {
    const denied = relay.record("peer-denied");
    const turn = await client();
    turn.credentials = ALICE;
    expect(errorCodeOf(await turn.createPermission({ address: "127.0.0.1", port: 1 }))).toBe(437);
    await turn.allocate(ALICE);
    expect((await turn.createPermission({ address: "127.0.0.1", port: 1 })).messageClass).toBe(MessageClass.SuccessResponse);
    expect(errorCodeOf(await turn.authenticated(Method.CreatePermission))).toBe(400);
    expect(errorCodeOf(await turn.createPermission({ address: "10.0.0.1", port: 1 }))).toBe(403);
    expect(errorCodeOf(await turn.createPermission({ address: "::1", port: 1 }))).toBe(443);
    // All-or-nothing: one denied peer among allowed ones installs none.
    expect(errorCodeOf(await turn.createPermission({ address: "127.0.0.2", port: 1 }, { address: "192.168.1.1", port: 1 }))).toBe(403);
    expect(relay.server.stats().permissions).toBe(1);
    expect((await turn.createPermission({ address: "127.0.0.2", port: 1 }, { address: "127.0.0.3", port: 1 })).messageClass).toBe(
      MessageClass.SuccessResponse,
    );
    expect(errorCodeOf(await turn.createPermission({ address: "127.0.0.4", port: 1 }))).toBe(508);
    // Refreshing an existing permission at the cap is fine.
    expect((await turn.createPermission({ address: "127.0.0.1", port: 9 })).messageClass).toBe(MessageClass.SuccessResponse);
    expect(denied.map((event) => event.code)).toEqual([403, 443, 403]);
    expect(relay.server.stats().deniedPeers).toBe(3);
  });
});

describe("ChannelBind", () => {
  it("binds 0x4000–0x4FFF, refreshes, and refuses bad numbers and conflicting rebinds with 400", async () => {
    const turn = await client();
    await turn.allocate(ALICE);
    const a = { address: "127.0.0.1", port: 5000 };
    const b = { address: "127.0.0.1", port: 5001 };
    expect((await turn.channelBind(0x4000, a)).messageClass).toBe(MessageClass.SuccessResponse);
    expect((await turn.channelBind(0x4000, a)).messageClass).toBe(MessageClass.SuccessResponse);
    expect(errorCodeOf(await turn.channelBind(0x4000, b))).toBe(400);
    expect(errorCodeOf(await turn.channelBind(0x4001, a))).toBe(400);
    expect(errorCodeOf(await turn.channelBind(0x3fff, b))).toBe(400);
    expect(errorCodeOf(await turn.channelBind(0x5000, b))).toBe(400);
    expect(errorCodeOf(await turn.channelBind(0x4fff, { address: "8.8.8.8", port: 53 }))).toBe(403);
    expect(errorCodeOf(await turn.channelBind(0x4fff, { address: "::1", port: 53 }))).toBe(443);
    expect(
      errorCodeOf(await turn.authenticated(Method.ChannelBind, (builder) => builder.addUint32(Attr.ChannelNumber, 0x4002 << 16))),
    ).toBe(400);
    expect((await turn.channelBind(0x4fff, b)).messageClass).toBe(MessageClass.SuccessResponse);
    expect(relay.server.stats().channels).toBe(2);
    // ChannelBind also installs the permission (RFC 8656 §11.2).
    expect(relay.server.stats().permissions).toBe(1);
  });

  it("accepts RFC 5766 numbers up to 0x7FFF only with legacyChannelNumbers", async () => {
    await relay.close();
    relay = await startTestServer({ legacyChannelNumbers: true });
    const turn = await client();
    await turn.allocate(ALICE);
    expect((await turn.channelBind(0x7fff, { address: "127.0.0.1", port: 5000 })).messageClass).toBe(MessageClass.SuccessResponse);
  });
});

describe("Send and Data indications", () => {
  it("relays Send to a permitted peer and the peer's answer as a Data indication; drops the unpermitted", async () => {
    const turn = await client();
    const { relay: relayed } = await turn.allocate(ALICE);
    const permitted = await peer("127.0.0.1");
    const stranger = await peer("127.0.0.2");
    // No permission yet: dropped. Then permit and send a marker: the marker must be the first arrival.
    turn.sendIndication(permitted.endpoint, Buffer.from("too early"));
    await turn.createPermission(permitted.endpoint);
    turn.sendIndication(permitted.endpoint, Buffer.from("hello peer"));
    const arrived = await permitted.received.take(2000, "Send data at peer");
    expect(arrived.data.toString()).toBe("hello peer");
    expect(arrived.from).toEqual({ address: "127.0.0.1", port: relayed!.port });

    stranger.send(Buffer.from("not permitted"), relayed!);
    permitted.send(Buffer.from("hello client"), relayed!);
    const data = await turn.dataIndications.take(2000, "Data indication");
    expect(data.data.toString()).toBe("hello client");
    expect(data.peer).toEqual({ address: "127.0.0.1", port: permitted.endpoint.port, family: 4 });
    expect(relay.server.stats().droppedPackets).toBeGreaterThanOrEqual(2);
    expect(turn.dataIndications.length).toBe(0);
  });

  it("drops Send indications carrying DONT-FRAGMENT or an unknown required attribute", async () => {
    const turn = await client();
    const { relay: relayed } = await turn.allocate(ALICE);
    const target = await peer();
    await turn.createPermission(target.endpoint);
    const make = (extra: (builder: StunMessageBuilder) => void, text: string) => {
      const builder = new StunMessageBuilder(Method.Send, MessageClass.Indication, Buffer.alloc(12, 1))
        .addXorAddress(Attr.XorPeerAddress, new Uint8Array([127, 0, 0, 1]), target.endpoint.port)
        .addBytes(Attr.Data, Buffer.from(text));
      extra(builder);
      return builder.finish();
    };
    turn.sendRaw(make((builder) => builder.addBytes(Attr.DontFragment, new Uint8Array(0)), "df"));
    turn.sendRaw(make((builder) => builder.addUint32(0x0031, 0), "unknown"));
    turn.sendRaw(make(() => {}, "marker"));
    expect((await target.received.take(2000, "marker")).data.toString()).toBe("marker");
    expect(relayed).not.toBeNull();
  });
});

describe("ALTERNATE-SERVER encoding", () => {
  it("decodes as a plain address", () => {
    const raw = new StunMessageBuilder(Method.Allocate, MessageClass.ErrorResponse, Buffer.alloc(12))
      .addPlainAddress(Attr.AlternateServer, new Uint8Array([192, 0, 2, 7]), 3478)
      .finish();
    const message = decodeStunMessage(raw)!;
    const attribute = findAttribute(message, Attr.AlternateServer)!;
    expect(decodePlainAddress(message.raw, attribute.offset, attribute.length)).toEqual({ address: "192.0.2.7", port: 3478, family: 4 });
  });
});
