/**
 * Fuzz: ≥ 100 000 random and mutated packets at the UDP listener (from eight 127.x addresses, each with a
 * live allocation, so the per-address limiters cannot make this pass trivially) and at relay ports (from a
 * permitted and an unpermitted peer), plus random TCP streams. Mutations work on valid requests and are
 * often re-signed with the right key, so they get past authentication into the method handlers.
 * Afterwards: no error reached an error boundary, and a normal allocation relays fine.
 *
 * Safety: the peer policy allows only 127.0.0.200, and every XOR-PEER-ADDRESS the fuzzer emits is
 * rewritten to the sink socket there, so relayed junk never reaches another process on this machine.
 */
import { connect } from "node:net";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PeerPolicy } from "../src/handlers.ts";
import { StunMessageBuilder } from "../src/stun/builder.ts";
import { Attr, MessageClass, Method } from "../src/stun/constants.ts";
import { longTermKey } from "../src/stun/integrity.ts";
import type { TransportAddress } from "../src/stun/xor-address.ts";
import { TestClient, TestPeer } from "./helpers/stun-client.ts";
import { ALICE, startTestServer, type TestServer } from "./helpers/test-server.ts";

const LISTENER_PACKETS = 90_000;
const RELAY_PACKETS = 14_000;
const TIME_BUDGET_MS = 45_000;
const SINK_ADDRESS = "127.0.0.200";
const onlySink: PeerPolicy = (address) => (address === SINK_ADDRESS ? "allow" : "deny");

/** xorshift32: reproducible from the printed seed. */
function randomSource(seed: number) {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
  return {
    int: (below: number) => next() % below,
    bytes(length: number): Buffer {
      const out = Buffer.allocUnsafe(length);
      for (let i = 0; i < length; i++) out[i] = next() & 0xff;
      return out;
    },
    pick<T>(items: readonly T[]): T {
      return items[next() % items.length]!;
    },
  };
}

interface Attribute {
  type: number;
  value: Buffer;
}

interface Fuzzer {
  client: TestClient;
  relay: TransportAddress;
  realm: string;
  nonce: string;
  key: Buffer;
}

let relay: TestServer;
let sink: TestPeer;
let stranger: TestPeer;
const fuzzers: Fuzzer[] = [];
const seed = Date.now() >>> 0;

beforeAll(async () => {
  relay = await startTestServer({ peerPolicy: onlySink, maxPermissionsPerAllocation: 8 });
  sink = await TestPeer.bind(SINK_ADDRESS);
  stranger = await TestPeer.bind("127.0.0.201");
  for (let host = 2; host <= 9; host++) {
    const client = await TestClient.connect("udp", relay.udp, `127.0.0.${host}`);
    const { relay: relayed } = await client.allocate(ALICE);
    await client.channelBind(0x4000, sink.endpoint);
    fuzzers.push({
      client,
      relay: relayed!,
      realm: client.realm!,
      nonce: client.nonce!,
      key: longTermKey(ALICE.username, client.realm!, ALICE.password),
    });
  }
}, 30_000);

afterAll(async () => {
  for (const fuzzer of fuzzers) await fuzzer.client.close();
  await sink.close();
  await stranger.close();
  await relay.close();
});

/** Rewrites every IPv4 XOR-PEER-ADDRESS in a STUN-looking packet to the sink (see the safety note). */
function pinPeerAddresses(packet: Buffer, sinkPort: number): void {
  if (packet.length < 20 || (packet[0]! & 0xc0) !== 0) return;
  let offset = 20;
  while (offset + 4 <= packet.length) {
    const type = packet.readUInt16BE(offset);
    const length = packet.readUInt16BE(offset + 2);
    if (offset + 4 + length > packet.length) return;
    if (type === Attr.XorPeerAddress && length === 8) {
      packet[offset + 5] = 0x01;
      packet.writeUInt16BE(sinkPort ^ 0x2112, offset + 6);
      packet[offset + 8] = 127 ^ 0x21;
      packet[offset + 9] = 0 ^ 0x12;
      packet[offset + 10] = 0 ^ 0xa4;
      packet[offset + 11] = 200 ^ 0x42;
    }
    offset += 4 + ((length + 3) & ~3);
  }
}

describe("fuzz", () => {
  it("survives ≥ 100 000 random and mutated packets, then serves a normal allocation", async () => {
    const random = randomSource(seed);
    const sinkPort = sink.endpoint.port;
    const xorPeer = (): Buffer => {
      const value = Buffer.alloc(8);
      value[1] = 0x01;
      value.writeUInt16BE(sinkPort ^ 0x2112, 2);
      value.set([127 ^ 0x21, 0 ^ 0x12, 0 ^ 0xa4, 200 ^ 0x42], 4);
      return value;
    };
    const uint32 = (value: number) => {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(value >>> 0);
      return out;
    };
    const templates: { method: number; messageClass: number; attributes: () => Attribute[]; signed: boolean }[] = [
      {
        method: Method.Binding,
        messageClass: MessageClass.Request,
        attributes: () => [{ type: Attr.Software, value: Buffer.from("fuzz") }],
        signed: false,
      },
      {
        method: Method.Allocate,
        messageClass: MessageClass.Request,
        attributes: () => [
          { type: Attr.RequestedTransport, value: uint32(17 << 24) },
          { type: Attr.Lifetime, value: uint32(random.pick([0, 1, 600, 0xffffffff])) },
          ...(random.int(3) === 0 ? [{ type: Attr.EvenPort, value: Buffer.from([random.pick([0, 0x80])]) }] : []),
          ...(random.int(4) === 0 ? [{ type: Attr.RequestedAddressFamily, value: uint32(random.pick([1, 2, 3]) << 24) }] : []),
        ],
        signed: true,
      },
      {
        method: Method.Refresh,
        messageClass: MessageClass.Request,
        // Rarely 0: a deleted allocation takes the relay paths out of the run until an Allocate restores it.
        attributes: () => [{ type: Attr.Lifetime, value: uint32(random.int(50) === 0 ? 0 : random.pick([600, 3600, 99999])) }],
        signed: true,
      },
      {
        method: Method.CreatePermission,
        messageClass: MessageClass.Request,
        attributes: () => [{ type: Attr.XorPeerAddress, value: xorPeer() }],
        signed: true,
      },
      {
        method: Method.ChannelBind,
        messageClass: MessageClass.Request,
        attributes: () => [
          { type: Attr.ChannelNumber, value: uint32((0x4000 + random.int(0x1100)) << 16) },
          { type: Attr.XorPeerAddress, value: xorPeer() },
        ],
        signed: true,
      },
      {
        method: Method.Send,
        messageClass: MessageClass.Indication,
        attributes: () => [
          { type: Attr.XorPeerAddress, value: xorPeer() },
          { type: Attr.Data, value: random.bytes(random.int(300)) },
        ],
        signed: false,
      },
    ];
    const interestingTypes = [...Object.values(Attr), 0x0000, 0x0031, 0x7fff, 0x8000, 0xffff];

    const build = (fuzzer: Fuzzer, template: (typeof templates)[number], attributes: Attribute[], sign: boolean): Buffer => {
      const builder = new StunMessageBuilder(template.method, template.messageClass, random.bytes(12));
      for (const attribute of attributes) builder.addBytes(attribute.type, attribute.value.subarray(0, 0xfff0));
      if (sign) builder.addString(Attr.Username, ALICE.username).addString(Attr.Realm, fuzzer.realm).addString(Attr.Nonce, fuzzer.nonce);
      return builder.finish({
        ...(sign ? { integrity: { key: fuzzer.key, algorithm: random.int(4) === 0 ? ("sha256" as const) : ("sha1" as const) } } : {}),
        fingerprint: random.int(2) === 0,
      });
    };

    const mutateAttributes = (attributes: Attribute[]): Attribute[] => {
      const out: Attribute[] = attributes.map((attribute) => ({ type: attribute.type, value: Buffer.from(attribute.value) }));
      const rounds = 1 + random.int(3);
      for (let round = 0; round < rounds; round++) {
        const choice = random.int(6);
        const target = out.length > 0 ? out[random.int(out.length)]! : undefined;
        if (choice === 0 && target) target.value = random.bytes(random.int(48));
        else if (choice === 1 && target && target.value.length > 0) target.value[random.int(target.value.length)] = random.int(256);
        else if (choice === 2 && target) target.type = random.pick(interestingTypes);
        else if (choice === 3) out.push({ type: random.pick(interestingTypes), value: random.bytes(random.int(40)) });
        else if (choice === 4 && out.length > 0) out.splice(random.int(out.length), 1);
        else if (target) out.push({ type: target.type, value: Buffer.from(target.value) });
      }
      return out;
    };

    const packetFor = (fuzzer: Fuzzer): Buffer => {
      const strategy = random.int(12);
      if (strategy === 0) {
        const packet = random.bytes(random.int(700));
        if (packet.length > 0) packet[0] = random.pick([0x00, 0x01, 0x40, 0x4f, 0x50, 0x7f, 0x80, 0xff, packet[0]!]);
        if (packet.length >= 8 && random.int(2) === 0) packet.writeUInt32BE(0x2112a442, 4);
        return packet;
      }
      if (strategy === 1 || strategy === 2) {
        // ChannelData: odd numbers and lengths, or well-formed on the bound channel (relayed to the sink).
        const payload = random.bytes(random.int(300));
        const header = Buffer.alloc(4);
        const wellFormed = strategy === 2;
        header.writeUInt16BE(wellFormed ? 0x4000 : random.pick([0x4000, 0x4001, 0x4fff, 0x5000, 0x7fff, 0x4000 + random.int(0x4000)]), 0);
        header.writeUInt16BE(wellFormed ? payload.length : random.pick([payload.length, payload.length + 1, random.int(0x10000), 0]), 2);
        return Buffer.concat([header, payload]);
      }
      const template = random.pick(templates);
      // Valid requests keep allocations, permissions and channels alive for the other mutations to hit.
      if (strategy === 3) return build(fuzzer, template, template.attributes(), template.signed);
      if (strategy <= 7) {
        // Mutated attributes, re-signed: the handlers see it as authentic.
        return build(fuzzer, template, mutateAttributes(template.attributes()), template.signed || random.int(4) === 0);
      }
      const valid = build(fuzzer, template, template.attributes(), template.signed);
      if (strategy === 8) {
        for (let flips = 1 + random.int(6); flips > 0; flips--) {
          const index = random.int(valid.length);
          valid[index] = valid[index]! ^ (1 << random.int(8));
        }
        return valid;
      }
      if (strategy === 9) return valid.subarray(0, random.int(valid.length));
      if (strategy === 10) {
        const extended = Buffer.concat([valid, random.bytes(random.int(64))]);
        if (random.int(2) === 0) extended.writeUInt16BE((extended.length - 20) & 0xffff, 2);
        return extended;
      }
      valid.writeUInt16BE(random.int(0x10000), 2);
      return valid;
    };

    const started = Date.now();
    let toListener = 0;
    let toRelay = 0;
    while ((toListener < LISTENER_PACKETS || toRelay < RELAY_PACKETS) && Date.now() - started < TIME_BUDGET_MS) {
      for (let burst = 0; burst < 200 && toListener < LISTENER_PACKETS; burst++) {
        const fuzzer = fuzzers[toListener % fuzzers.length]!;
        const packet = packetFor(fuzzer);
        pinPeerAddresses(packet, sinkPort);
        fuzzer.client.sendRaw(packet);
        toListener++;
      }
      for (let burst = 0; burst < 30 && toRelay < RELAY_PACKETS; burst++) {
        const target = fuzzers[random.int(fuzzers.length)]!.relay;
        const from = random.int(4) === 0 ? stranger : sink;
        from.send(random.bytes(random.pick([0, 1, 2, 3, 4, 20, random.int(1400)])), target);
        toRelay++;
      }
      await yieldToLoop();
    }
    expect(toListener + toRelay, `seed ${seed}`).toBeGreaterThanOrEqual(100_000);

    // Random TCP streams: junk, then valid-looking frames with junk inside.
    await Promise.all(
      Array.from({ length: 12 }, async (_, index) => {
        const socket = connect({ host: relay.tcp.address, port: relay.tcp.port, localAddress: `127.0.0.${2 + (index % 8)}` });
        socket.on("error", () => {});
        await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
        for (let chunk = 0; chunk < 40 && !socket.destroyed; chunk++) {
          const packet = index % 2 === 0 ? random.bytes(random.int(500)) : packetFor(fuzzers[index % fuzzers.length]!);
          pinPeerAddresses(packet, sinkPort);
          socket.write(packet);
        }
        socket.destroy();
      }),
    );

    // Everything sent has been handled once a Binding from the last fuzzer's 5-tuple comes back.
    const probe = await TestClient.connect("udp", relay.udp, "127.0.0.1");
    const binding = await probe.transact(TestClient.request(Method.Binding).finish());
    expect(binding.messageClass).toBe(MessageClass.SuccessResponse);

    expect(relay.internalErrors, `seed ${seed}`).toEqual([]);
    if (process.env.FUZZ_DEBUG) console.log(JSON.stringify(relay.server.stats()));

    // A normal allocation from an address the fuzzers never used still works end to end.
    const { relay: relayed } = await probe.allocate(ALICE);
    expect(relayed).not.toBeNull();
    expect((await probe.channelBind(0x4321, sink.endpoint)).messageClass).toBe(MessageClass.SuccessResponse);
    probe.sendChannelData(0x4321, Buffer.from("after the storm"));
    let found = false;
    for (let read = 0; read < 200_000 && !found; read++) {
      const arrival = await sink.received.take(5000, "probe data at sink");
      found = arrival.data.toString() === "after the storm";
    }
    expect(found).toBe(true);
    sink.send(Buffer.from("and back"), relayed!);
    let back = false;
    for (let read = 0; read < 1000 && !back; read++) {
      back = (await probe.channelData.take(5000, "probe data at client")).data.toString() === "and back";
    }
    expect(back).toBe(true);
    await probe.close();
    expect(relay.internalErrors, `seed ${seed}`).toEqual([]);
  }, 90_000);
});
