import { describe, expect, it } from "vitest";
import { CloseCode } from "../../protocol/errors.ts";
import { ABUSE_MAX_REFUSALS } from "./refusals.ts";
import { TestPeer, uniqueRoom } from "./testing.ts";

/** A room with a sender and a bystander who have read each other's presence. */
async function trio(room: string): Promise<{ a: TestPeer; b: TestPeer; c: TestPeer }> {
  const a = await TestPeer.connect(room, "a");
  const b = await TestPeer.connect(room, "b");
  const c = await TestPeer.connect(room, "c");
  await a.expect("peer-joined");
  await a.expect("peer-joined");
  await b.expect("peer-joined");
  return { a, b, c };
}

describe("refusals and limits", () => {
  it("refuses garbage with a code, keeps the connection, and leaves other peers unaffected", async () => {
    const room = uniqueRoom();
    const { a, b, c } = await trio(room);
    a.send("not json {");
    expect(await a.next()).toMatchObject({ type: "error", code: "bad_json" });
    a.send(new TextEncoder().encode('{"type":"broadcast","data":1}').buffer);
    expect(await a.next()).toMatchObject({ type: "error", code: "binary_not_supported" });
    a.send(JSON.stringify({ type: "broadcast", data: "x".repeat(1024 * 1024) }));
    expect(await a.next()).toMatchObject({ type: "error", code: "too_large", message: expect.stringMatching(/65536/) });
    a.send({ type: "teleport", to: b.peerId });
    expect(await a.next()).toMatchObject({ type: "error", code: "bad_message", message: 'unknown message type "teleport"' });
    a.send({ type: "signal", data: 1 });
    expect(await a.next()).toMatchObject({ type: "error", code: "bad_message", message: expect.stringMatching(/signal.*to/) });
    a.send([1, 2, 3]);
    expect(await a.next()).toMatchObject({ type: "error", code: "bad_message" });
    a.send({ type: "signal", to: "nobody-here", data: 1 });
    expect(await a.next()).toMatchObject({ type: "error", code: "unknown_peer" });
    a.send({ type: "signal", to: a.peerId, data: 1 });
    expect(await a.next()).toMatchObject({ type: "error", code: "unknown_peer" });

    // Still connected, and nobody else saw any of it.
    a.send({ type: "signal", to: b.peerId, data: "fine" });
    expect(await b.next()).toMatchObject({ type: "signal", from: a.peerId, data: "fine" });
    c.send({ type: "broadcast", data: "c is fine" });
    expect(await a.next()).toMatchObject({ type: "broadcast", from: c.peerId, data: "c is fine" });
    expect(await b.next()).toMatchObject({ type: "broadcast", from: c.peerId, data: "c is fine" });
    expect(b.pending).toEqual([]);
  });

  it("counts a frame just under the limit in UTF-8 bytes", async () => {
    const room = uniqueRoom();
    const { a, b } = await trio(room);
    const envelope = JSON.stringify({ type: "signal", to: b.peerId, data: "" });
    // "é" is 2 bytes in UTF-8 (1 UTF-16 unit): fill to exactly 65536 bytes, then one byte over.
    const roomFor = 65536 - envelope.length;
    const fits = "é".repeat(Math.floor(roomFor / 2)) + "x".repeat(roomFor % 2);
    expect(new TextEncoder().encode(JSON.stringify({ type: "signal", to: b.peerId, data: fits })).length).toBe(65536);
    a.send(JSON.stringify({ type: "signal", to: b.peerId, data: fits }));
    expect(await b.next()).toMatchObject({ type: "signal", data: fits });
    a.send(JSON.stringify({ type: "signal", to: b.peerId, data: `${fits}x` }));
    expect(await a.next()).toMatchObject({ type: "error", code: "too_large" });
  });

  it("rate-limits a connection with a token bucket, without closing it", async () => {
    const room = uniqueRoom();
    const { a, b } = await trio(room);
    // Burst 200, 50/s refill: of 215 frames sent at once, some are over the limit. Each frame is answered
    // (unknown_peer when let through, rate_limited when refused), so exactly 215 answers follow.
    for (let index = 0; index < 215; index++) a.send({ type: "signal", to: "nobody", data: index });
    const codes: string[] = [];
    for (let index = 0; index < 215; index++) codes.push((await a.next()).code as string);
    const limited = codes.filter((code) => code === "rate_limited").length;
    expect(limited).toBeGreaterThan(0);
    expect(limited).toBeLessThanOrEqual(15);
    expect(codes.filter((code) => code === "unknown_peer").length).toBe(215 - limited);
    // b is unaffected and a is still in the room.
    b.send({ type: "signal", to: a.peerId, data: "still here?" });
    expect(await a.next()).toMatchObject({ type: "signal", data: "still here?" });
  });

  it("closes a connection that keeps sending refused frames with the abuse code, and the peer leaves", async () => {
    const room = uniqueRoom();
    const { a, b, c } = await trio(room);
    for (let index = 0; index <= ABUSE_MAX_REFUSALS; index++) a.send("garbage");
    const closed = await a.waitClosed();
    expect(closed.code).toBe(CloseCode.abuse);
    expect(await b.next()).toMatchObject({ type: "peer-left", peerId: a.peerId, reason: "kicked" });
    expect(await c.next()).toMatchObject({ type: "peer-left", peerId: a.peerId, reason: "kicked" });
    b.send({ type: "signal", to: c.peerId, data: "unaffected" });
    expect(await c.next()).toMatchObject({ type: "signal", data: "unaffected" });
  });

  it("refuses the 17th peer with room_full and the room-full close code", async () => {
    const room = uniqueRoom();
    const peers: TestPeer[] = [];
    for (let index = 0; index < 16; index++) peers.push(await TestPeer.connect(room, `user-${index}`));
    const late = await TestPeer.connect(room, "late", { noWelcome: true });
    expect(await late.next()).toMatchObject({ type: "error", code: "room_full", message: expect.stringMatching(/16/) });
    expect((await late.waitClosed()).code).toBe(CloseCode.roomFull);
    // The others never heard of the refused peer: after the 15 joins, the next frame is the leave below.
    const first = peers[0] as TestPeer;
    for (let index = 0; index < 15; index++) await first.expect("peer-joined");
    (peers[15] as TestPeer).send({ type: "leave" });
    expect(await first.next()).toMatchObject({ type: "peer-left", reason: "left" });
    // A slot is free again.
    const now = await TestPeer.connect(room, "now");
    expect(now.welcome.peers).toHaveLength(15);
  });

  it("refuses frames for a recipient with a full queue with queue_full, until it acknowledges", async () => {
    const room = uniqueRoom();
    const slow = await TestPeer.connect(room, "slow");
    const senders: TestPeer[] = [];
    // Six senders (each under its 200-frame burst) fill slow's 1000-frame queue.
    for (let index = 0; index < 6; index++) senders.push(await TestPeer.connect(room, `sender-${index}`));
    for (const sender of senders) {
      for (let index = 0; index < 166; index++) sender.send({ type: "signal", to: slow.peerId, data: index });
      sender.send({ type: "signal", to: "barrier", data: null }); // its unknown_peer answer ends this sender's frames
    }
    // 6 joins + 996 signals: exactly two signals find the queue full.
    let lastSeq = 0;
    for (let index = 0; index < 1000; index++) lastSeq = (await slow.next()).seq as number;
    expect(lastSeq).toBe(1000);
    const refusals: string[] = [];
    for (const sender of senders) {
      for (let frames = 0; frames < 20; frames++) {
        const frame = await sender.next();
        if (frame.type === "error" && frame.code === "unknown_peer") break;
        if (frame.type === "error") refusals.push(frame.code as string);
      }
    }
    expect(refusals).toEqual(["queue_full", "queue_full"]);
    expect(slow.pending).toEqual([]);

    slow.ack(lastSeq);
    const first = senders[0] as TestPeer;
    first.send({ type: "signal", to: slow.peerId, data: "after ack" });
    expect(await slow.next()).toMatchObject({ data: "after ack", seq: 1001 });
  });

  it("ends the session of a peer that leaves twice the queue bound unacknowledged (queue overflow)", async () => {
    const room = uniqueRoom();
    const stuck = await TestPeer.connect(room, "stuck");
    // Eleven peers each send 185 metadata updates (under their 200-frame burst). Every update is a server
    // event for all others; only stuck never acks, so its queue passes 2 × 1000 first (others stay < 1900).
    const updaters: TestPeer[] = [];
    for (let index = 0; index < 11; index++) updaters.push(await TestPeer.connect(room, `updater-${index}`));
    for (const updater of updaters) for (let index = 0; index < 185; index++) updater.send({ type: "metadata", metadata: { index } });
    expect((await stuck.waitClosed(10_000)).code).toBe(CloseCode.queueOverflow);
    const watcher = updaters[0] as TestPeer;
    let left: Record<string, unknown> | undefined;
    for (let frames = 0; frames < 2100 && !left; frames++) {
      const frame = await watcher.next();
      if (frame.type === "peer-left") left = frame;
    }
    expect(left).toMatchObject({ peerId: stuck.peerId, reason: "timeout" });
  }, 20_000);
});
