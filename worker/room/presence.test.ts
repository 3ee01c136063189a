import { describe, expect, it } from "vitest";
import { PING_FRAME, PONG_FRAME } from "../../protocol/messages.ts";
import { TestPeer, uniqueRoom } from "./testing.ts";

describe("room presence and relay", () => {
  it("welcomes a joiner with the others only, and tells the others with a sequenced peer-joined", async () => {
    const room = uniqueRoom();
    const alice = await TestPeer.connect(room, "alice", { name: "Alice", metadata: { avatar: "a.png" } });
    expect(alice.welcome).toMatchObject({ type: "welcome", v: 1, room, peers: [], resumed: false });
    expect(alice.welcome.resumeToken).toMatch(/^[\w-]{43}$/);
    expect(alice.welcome.limits).toEqual({ maxFrameBytes: 65536, maxPeers: 16, ratePerSecond: 50, rateBurst: 200, resumeGraceSeconds: 30 });

    const bob = await TestPeer.connect(room, "bob");
    expect(bob.welcome.peers).toEqual([
      { peerId: alice.peerId, userId: "alice", name: "Alice", metadata: { avatar: "a.png" }, joinedAt: expect.any(Number) },
    ]);
    expect(bob.peerId).not.toBe(alice.peerId);
    const joined = await alice.expect("peer-joined");
    expect(joined).toEqual({
      type: "peer-joined",
      peerId: bob.peerId,
      peer: { peerId: bob.peerId, userId: "bob", metadata: {}, joinedAt: expect.any(Number) },
      seq: 1,
    });
  });

  it("makes the same user joining twice two peers with the same userId", async () => {
    const room = uniqueRoom();
    const phone = await TestPeer.connect(room, "carol");
    const laptop = await TestPeer.connect(room, "carol");
    expect(laptop.peerId).not.toBe(phone.peerId);
    expect(laptop.welcome.peers).toMatchObject([{ peerId: phone.peerId, userId: "carol" }]);
    expect(await phone.expect("peer-joined")).toMatchObject({ peerId: laptop.peerId, peer: { userId: "carol" } });
  });

  it("relays a signal only to its target, with the server's from and the target's seq", async () => {
    const room = uniqueRoom();
    const a = await TestPeer.connect(room, "a");
    const b = await TestPeer.connect(room, "b");
    const c = await TestPeer.connect(room, "c");
    await a.expect("peer-joined");
    await a.expect("peer-joined");
    await b.expect("peer-joined");

    a.send({ type: "signal", to: b.peerId, data: { sdp: "offer-for-b" } });
    a.send({ type: "signal", to: c.peerId, data: { sdp: "offer-for-c" } });
    expect(await b.next()).toEqual({ type: "signal", from: a.peerId, data: { sdp: "offer-for-b" }, seq: 2 });
    // The room handles frames in order: had c received b's signal, it would come before its own.
    expect(await c.next()).toEqual({ type: "signal", from: a.peerId, data: { sdp: "offer-for-c" }, seq: 1 });
    expect(a.pending).toEqual([]);
  });

  it("ignores a spoofed from", async () => {
    const room = uniqueRoom();
    const a = await TestPeer.connect(room, "a");
    const b = await TestPeer.connect(room, "b");
    await a.expect("peer-joined");
    b.send({ type: "signal", to: a.peerId, from: "someone-else", data: 1 });
    b.send({ type: "broadcast", from: "someone-else", data: 2 });
    expect(await a.next()).toMatchObject({ type: "signal", from: b.peerId, data: 1 });
    expect(await a.next()).toMatchObject({ type: "broadcast", from: b.peerId, data: 2 });
  });

  it("keeps rooms isolated", async () => {
    const roomOne = uniqueRoom("one");
    const roomTwo = uniqueRoom("two");
    const a = await TestPeer.connect(roomOne, "a");
    const x = await TestPeer.connect(roomTwo, "x");
    const b = await TestPeer.connect(roomOne, "b");
    await a.expect("peer-joined");
    a.send({ type: "broadcast", data: "room one only" });
    expect(await b.next()).toMatchObject({ type: "broadcast", data: "room one only" });
    // x sees neither b's join nor a's broadcast: its first frame is y's join in room two.
    const y = await TestPeer.connect(roomTwo, "y");
    expect(y.welcome.peers.map((peer) => peer.peerId)).toEqual([x.peerId]);
    expect(await x.next()).toMatchObject({ type: "peer-joined", peerId: y.peerId, seq: 1 });
  });

  it("broadcasts durably with per-recipient seqs, and ephemerally without seq", async () => {
    const room = uniqueRoom();
    const a = await TestPeer.connect(room, "a");
    const b = await TestPeer.connect(room, "b");
    const c = await TestPeer.connect(room, "c");
    await a.expect("peer-joined");
    await a.expect("peer-joined");
    await b.expect("peer-joined");
    c.send({ type: "broadcast", data: { hello: true } });
    c.send({ type: "broadcast", data: "typing", ephemeral: true });
    expect(await a.next()).toEqual({ type: "broadcast", from: c.peerId, data: { hello: true }, seq: 3 });
    expect(await b.next()).toEqual({ type: "broadcast", from: c.peerId, data: { hello: true }, seq: 2 });
    expect(await a.next()).toEqual({ type: "broadcast", from: c.peerId, data: "typing" });
    expect(await b.next()).toEqual({ type: "broadcast", from: c.peerId, data: "typing" });
    expect(c.pending).toEqual([]);
  });

  it("shares metadata updates as peer-updated and quality reports as ephemeral quality frames", async () => {
    const room = uniqueRoom();
    const a = await TestPeer.connect(room, "a");
    const b = await TestPeer.connect(room, "b");
    await a.expect("peer-joined");
    b.send({ type: "metadata", metadata: { muted: true } });
    b.send({ type: "quality", report: { rttMs: 42 } });
    expect(await a.next()).toEqual({ type: "peer-updated", peerId: b.peerId, metadata: { muted: true }, seq: 2 });
    expect(await a.next()).toEqual({ type: "quality", from: b.peerId, report: { rttMs: 42 } });
    const c = await TestPeer.connect(room, "c");
    expect(c.welcome.peers.find((peer) => peer.peerId === b.peerId)?.metadata).toEqual({ muted: true });
  });

  it("ends a session at once on a leave frame or a 1000/1001 close", async () => {
    const room = uniqueRoom();
    const a = await TestPeer.connect(room, "a");
    const b = await TestPeer.connect(room, "b");
    const c = await TestPeer.connect(room, "c");
    const d = await TestPeer.connect(room, "d");
    for (let joins = 0; joins < 3; joins++) await a.expect("peer-joined");

    b.send({ type: "leave" });
    expect(await a.next()).toMatchObject({ type: "peer-left", peerId: b.peerId, reason: "left" });
    expect((await b.waitClosed()).code).toBe(1000);
    c.close(1000, "bye");
    expect(await a.next()).toMatchObject({ type: "peer-left", peerId: c.peerId, reason: "left" });
    d.close(1001, "tab closed");
    expect(await a.next()).toMatchObject({ type: "peer-left", peerId: d.peerId, reason: "left" });

    const e = await TestPeer.connect(room, "e");
    expect(e.welcome.peers.map((peer) => peer.peerId)).toEqual([a.peerId]);
  });

  it("answers the keep-alive ping with the pong frame", async () => {
    const room = uniqueRoom();
    const a = await TestPeer.connect(room, "a");
    a.send(PING_FRAME);
    expect(await a.next()).toEqual(JSON.parse(PONG_FRAME));
  });
});
