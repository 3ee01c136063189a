import { runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CloseCode } from "../../protocol/errors.ts";
import { pair, roomStub, TestPeer, uniqueRoom } from "./testing.ts";

afterEach(() => {
  vi.useRealTimers();
});

describe("lossless signaling: seq, ack and resume", () => {
  it("after a dropped socket, resumes the same peer and delivers every missed frame once, in order", async () => {
    const room = uniqueRoom();
    const { a, b } = await pair(room);
    const c = await TestPeer.connect(room, "c");
    await a.expect("peer-joined");
    await b.expect("peer-joined"); // b's seq 1

    // b receives seqs 2..4 but acknowledges only 2, then its socket drops (not a goodbye code).
    for (let index = 1; index <= 3; index++) a.send({ type: "signal", to: b.peerId, data: `before-${index}` });
    const received = [await b.next(), await b.next(), await b.next()];
    expect(received.map((frame) => frame.seq)).toEqual([2, 3, 4]);
    b.ack(2);
    b.close(4000, "network change");
    expect(await a.next()).toMatchObject({ type: "peer-reconnecting", peerId: b.peerId });
    expect(await c.next()).toMatchObject({ type: "peer-reconnecting", peerId: b.peerId });

    // Frames sent while b is away are queued.
    a.send({ type: "signal", to: b.peerId, data: "while-away-1" });
    c.send({ type: "broadcast", data: "while-away-2" });
    c.send({ type: "broadcast", data: "ephemeral-is-not-queued", ephemeral: true });
    expect(await a.next()).toMatchObject({ data: "while-away-2" });
    expect(await a.next()).toMatchObject({ data: "ephemeral-is-not-queued" });

    // b only processed up to seq 3 before the drop.
    const resumed = await TestPeer.connect(room, "b", { resume: b.welcome.resumeToken, lastSeq: 3 });
    expect(resumed.welcome).toMatchObject({ peerId: b.peerId, resumed: true, resumeToken: b.welcome.resumeToken });
    expect(resumed.welcome.lossPossible).toBeUndefined();
    expect(resumed.welcome.peers.map((peer) => peer.peerId).sort()).toEqual([a.peerId, c.peerId].sort());
    const replay = [await resumed.next(), await resumed.next(), await resumed.next()];
    expect(replay).toEqual([
      { type: "signal", from: a.peerId, data: "before-3", seq: 4 },
      { type: "signal", from: a.peerId, data: "while-away-1", seq: 5 },
      { type: "broadcast", from: c.peerId, data: "while-away-2", seq: 6 },
    ]);
    expect(await a.next()).toMatchObject({ type: "peer-resumed", peerId: b.peerId });
    expect(await c.next()).toMatchObject({ type: "peer-resumed", peerId: b.peerId });

    // Seq continues after the replay, and nothing was replayed twice.
    a.send({ type: "signal", to: b.peerId, data: "after" });
    expect(await resumed.next()).toEqual({ type: "signal", from: a.peerId, data: "after", seq: 7 });
    expect(resumed.pending).toEqual([]);
  });

  it("without lastSeq resumes from the last acknowledgement", async () => {
    const room = uniqueRoom();
    const { a, b } = await pair(room);
    a.send({ type: "signal", to: b.peerId, data: "one" });
    a.send({ type: "signal", to: b.peerId, data: "two" });
    expect((await b.next()).seq).toBe(1);
    expect((await b.next()).seq).toBe(2);
    b.ack(1);
    b.close(4000);
    await a.expect("peer-reconnecting");
    const resumed = await TestPeer.connect(room, "b", { resume: b.welcome.resumeToken });
    expect(await resumed.next()).toMatchObject({ data: "two", seq: 2 });
  });

  it("closes an older socket still open for the peer with the replaced code", async () => {
    const room = uniqueRoom();
    const { a, b } = await pair(room);
    const second = await TestPeer.connect(room, "b", { resume: b.welcome.resumeToken, lastSeq: 0 });
    expect(second.peerId).toBe(b.peerId);
    expect((await b.waitClosed()).code).toBe(CloseCode.replaced);
    a.send({ type: "signal", to: b.peerId, data: "to-the-new-socket" });
    expect(await second.next()).toMatchObject({ data: "to-the-new-socket", seq: 1 });
    // The old socket never made the peer reconnecting, so a sees no presence churn: its next frame is c's join.
    const c = await TestPeer.connect(room, "c");
    expect(await a.next()).toMatchObject({ type: "peer-joined", peerId: c.peerId });
  });

  it("answers a failed resume with resume_failed and a fresh join", async () => {
    const room = uniqueRoom();
    const { a, b } = await pair(room);
    const unknown = await TestPeer.connect(room, "b", { resume: "no-such-token", lastSeq: 0, noWelcome: true });
    expect(await unknown.next()).toMatchObject({ type: "error", code: "resume_failed" });
    const fresh = await unknown.expect("welcome");
    expect(fresh).toMatchObject({ resumed: false });
    expect(fresh.peerId).not.toBe(b.peerId);
    await a.expect("peer-joined");

    // Another user cannot take over b's session with b's resume token.
    const thief = await TestPeer.connect(room, "mallory", { resume: b.welcome.resumeToken, noWelcome: true });
    expect(await thief.next()).toMatchObject({ type: "error", code: "resume_failed", message: expect.stringMatching(/another user/) });
    expect((await thief.expect("welcome")).peerId).not.toBe(b.peerId);

    // A lastSeq the server never sent is refused too.
    const ahead = await TestPeer.connect(room, "b", { resume: b.welcome.resumeToken, lastSeq: 99, noWelcome: true });
    expect(await ahead.next()).toMatchObject({ type: "error", code: "resume_failed", message: expect.stringMatching(/ahead/) });
  });

  it("ends a session with peer-left timeout when the grace runs out, after which resume fails", async () => {
    const room = uniqueRoom();
    const { a, b } = await pair(room);
    b.close(4000);
    await a.expect("peer-reconnecting");

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 31_000); // past the 30 s grace, within a's 60 s idle allowance
    expect(await runDurableObjectAlarm(roomStub(room))).toBe(true);
    expect(await a.next()).toMatchObject({ type: "peer-left", peerId: b.peerId, reason: "timeout" });

    const late = await TestPeer.connect(room, "b", { resume: b.welcome.resumeToken, noWelcome: true });
    expect(await late.next()).toMatchObject({ type: "error", code: "resume_failed" });
    expect(await late.expect("welcome")).toMatchObject({ resumed: false });
  });

  it("refuses an ack beyond the last seq sent", async () => {
    const room = uniqueRoom();
    const { a } = await pair(room);
    a.ack(5);
    expect(await a.next()).toMatchObject({ type: "error", code: "bad_message", message: expect.stringMatching(/beyond/) });
  });
});
