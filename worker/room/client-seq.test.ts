import { abortAllDurableObjects, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Room } from "./room.ts";
import { type Frame, pair, roomStub, TestPeer, uniqueRoom } from "./testing.ts";

afterEach(() => {
  vi.useRealTimers();
});

/** A numbered signal from `from` to `to`. */
function signal(from: TestPeer, to: TestPeer, data: unknown, cseq: number): void {
  from.send({ type: "signal", to: to.peerId, data, cseq });
}

/** The data of the next `count` frames of `peer`, which must all be signals. */
async function signalData(peer: TestPeer, count: number): Promise<unknown[]> {
  const data: unknown[] = [];
  for (let index = 0; index < count; index++) data.push((await peer.expect("signal")).data);
  return data;
}

/** The room's stored `last_client_seq` of a peer. */
function storedClientSeq(room: string, peerId: string): Promise<number> {
  return runInDurableObject(
    roomStub(room),
    (_instance: Room, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT last_client_seq AS n FROM peers WHERE peer_id = ?", peerId).one().n,
  );
}

describe("client sequence numbers: cseq, client-ack, resume", () => {
  it("announces lastClientSeq 0 on a fresh session and relays a duplicate cseq only once", async () => {
    const room = uniqueRoom();
    const { a, b } = await pair(room);
    expect(a.welcome.lastClientSeq).toBe(0);
    expect(b.welcome.lastClientSeq).toBe(0);

    signal(a, b, "one", 1);
    signal(a, b, "one again", 1); // a re-send of a processed frame: ignored without an answer
    signal(a, b, "two", 2);
    signal(a, b, "two again", 2);
    a.send({ type: "signal", to: b.peerId, data: "unnumbered" }); // frames without cseq still work (protocol v1)
    expect(await signalData(b, 3)).toEqual(["one", "two", "unnumbered"]);
    // The duplicates produced nothing: a's next frame is the acknowledgement.
    expect(await a.next()).toEqual({ type: "client-ack", cseq: 2 });
    expect(b.pending).toEqual([]);
  });

  it("acknowledges cumulatively, once per flush, and only what storage holds", async () => {
    const room = uniqueRoom();
    const { a, b } = await pair(room);
    for (let cseq = 1; cseq <= 5; cseq++) signal(a, b, cseq, cseq);
    expect(await signalData(b, 5)).toEqual([1, 2, 3, 4, 5]);
    expect(await a.next()).toEqual({ type: "client-ack", cseq: 5 }); // one ack for the burst
    expect(await storedClientSeq(room, a.peerId)).toBe(5);

    signal(a, b, 6, 6);
    a.send({ type: "broadcast", data: "seven", cseq: 7 });
    a.send({ type: "metadata", metadata: { muted: true }, cseq: 8 });
    a.send({ type: "broadcast", data: "not numbered", ephemeral: true });
    expect(await b.next()).toMatchObject({ type: "signal", data: 6 });
    expect(await b.next()).toMatchObject({ type: "broadcast", data: "seven" });
    expect(await b.next()).toMatchObject({ type: "peer-updated", metadata: { muted: true } });
    expect(await b.next()).toEqual({ type: "broadcast", from: a.peerId, data: "not numbered" });
    expect(await a.next()).toEqual({ type: "client-ack", cseq: 8 });
    expect(a.pending).toEqual([]);
  });

  it("counts a refused frame as processed: its error names the cseq, and the next frame goes through", async () => {
    const room = uniqueRoom();
    const { a, b } = await pair(room);
    a.send({ type: "signal", to: "nobody", data: 1, cseq: 1 });
    expect(await a.next()).toMatchObject({ type: "error", code: "unknown_peer", cseq: 1 });
    a.send({ type: "signal", data: "no recipient", cseq: 2 });
    expect(await a.next()).toMatchObject({ type: "error", code: "bad_message", cseq: 2 });
    a.send({ type: "broadcast", data: "typing", ephemeral: true, cseq: 3 });
    expect(await a.next()).toMatchObject({ type: "error", code: "bad_message", cseq: 3, message: expect.stringMatching(/ephemeral/) });
    a.send({ type: "kick", peerId: b.peerId, cseq: 4 });
    expect(await a.next()).toMatchObject({ type: "error", code: "forbidden", cseq: 4 });
    signal(a, b, "fine", 5);
    expect(await signalData(b, 1)).toEqual(["fine"]);
    expect(await a.next()).toEqual({ type: "client-ack", cseq: 5 });
  });

  it("refuses a frame after a gap with out_of_order, and processes nothing until the missing one arrives", async () => {
    const room = uniqueRoom();
    const { a, b } = await pair(room);
    signal(a, b, "one", 1);
    signal(a, b, "three", 3);
    expect(await signalData(b, 1)).toEqual(["one"]);
    expect(await a.next()).toMatchObject({ type: "error", code: "out_of_order", cseq: 3, lastClientSeq: 1 });
    signal(a, b, "two", 2);
    signal(a, b, "three", 3);
    expect(await signalData(b, 2)).toEqual(["two", "three"]);
    expect(await a.next()).toEqual({ type: "client-ack", cseq: 3 });
    expect(b.pending).toEqual([]);
  });

  it("names the cseq of a rate-limited frame, processes none after it, and takes the re-sent rest exactly once", async () => {
    const room = uniqueRoom();
    const { a, b } = await pair(room);
    // Burst 200 at 50/s: of 210 frames sent at once, a few are over the limit (as in limits.test.ts).
    const total = 210;
    for (let cseq = 1; cseq <= total; cseq++) signal(a, b, cseq, cseq);
    const answers: Frame[] = [];
    let refused: number | undefined;
    // Every frame from the first refusal on is answered (rate_limited or out_of_order); a client-ack may come between.
    for (let count = 0; count < total + 2 && (refused === undefined || answers.length < total - refused + 1); count++) {
      const frame = await a.next();
      if (frame.type !== "error") continue;
      refused ??= frame.cseq as number;
      answers.push(frame);
    }
    expect(refused).toBeDefined();
    const first = refused as number;
    expect(answers[0]).toMatchObject({ code: "rate_limited", cseq: first });
    expect(answers.map((frame) => frame.cseq)).toEqual(Array.from({ length: total - first + 1 }, (_, index) => first + index));
    for (const frame of answers.slice(1)) {
      if (frame.code === "out_of_order") expect(frame.lastClientSeq).toBe(first - 1);
      else expect(frame.code).toBe("rate_limited");
    }
    const before = await signalData(b, first - 1);
    expect(before).toEqual(Array.from({ length: first - 1 }, (_, index) => index + 1));

    // A second later the bucket has refilled: the client goes back to the refused frame and sends the rest again.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 2000);
    for (let cseq = first - 2; cseq <= total; cseq++) signal(a, b, cseq, cseq); // two duplicates first
    const after = await signalData(b, total - first + 1);
    expect(after).toEqual(Array.from({ length: total - first + 1 }, (_, index) => first + index));
    vi.useRealTimers();
    signal(a, b, "last", total + 1);
    expect(await signalData(b, 1)).toEqual(["last"]);
  });

  it("resumes with lastClientSeq: re-sent frames up to it are dropped, the rest relayed once, in order", async () => {
    const room = uniqueRoom();
    const { a, b } = await pair(room);
    for (let cseq = 1; cseq <= 3; cseq++) signal(a, b, cseq, cseq);
    expect(await signalData(b, 3)).toEqual([1, 2, 3]);
    a.close(4000, "network change"); // before any client-ack could arrive
    await b.expect("peer-reconnecting");

    const resumed = await TestPeer.connect(room, "a", { resume: a.welcome.resumeToken, lastSeq: 1 });
    expect(resumed.welcome).toMatchObject({ peerId: a.peerId, resumed: true, lastClientSeq: 3 });
    expect(await storedClientSeq(room, a.peerId)).toBe(3); // stored before the welcome went out
    // The client re-sends what it had not seen acknowledged, plus new frames.
    for (let cseq = 1; cseq <= 5; cseq++) signal(resumed, b, cseq, cseq);
    expect(await b.next()).toMatchObject({ type: "peer-resumed", peerId: a.peerId });
    expect(await signalData(b, 2)).toEqual([4, 5]);
    expect(await resumed.next()).toEqual({ type: "client-ack", cseq: 5 });
    expect(b.pending).toEqual([]);

    // A failed resume is a fresh session: its numbering starts over.
    const fresh = await TestPeer.connect(room, "a", { resume: "unknown", noWelcome: true });
    expect(await fresh.next()).toMatchObject({ type: "error", code: "resume_failed" });
    expect(await fresh.expect("welcome")).toMatchObject({ resumed: false, lastClientSeq: 0 });
  });

  it("keeps lastClientSeq across hibernation and eviction", async () => {
    const room = uniqueRoom();
    const { a, b } = await pair(room);
    signal(a, b, 1, 1);
    signal(a, b, 2, 2);
    expect(await signalData(b, 2)).toEqual([1, 2]);
    await runInDurableObject(roomStub(room), (instance: Room) => instance.flush());
    expect(await a.next()).toEqual({ type: "client-ack", cseq: 2 });

    await evictDurableObject(roomStub(room)); // hibernation: the instance goes, the sockets stay
    signal(a, b, "2 again", 2);
    signal(a, b, 3, 3);
    expect(await signalData(b, 1)).toEqual([3]);
    await runInDurableObject(roomStub(room), (instance: Room) => instance.flush());
    expect(await a.next()).toEqual({ type: "client-ack", cseq: 3 });

    await evictDurableObject(roomStub(room), { webSockets: "close" }); // like a deploy
    await a.waitClosed();
    await b.waitClosed();
    const a2 = await TestPeer.connect(room, "a", { resume: a.welcome.resumeToken, lastSeq: 1 });
    expect(a2.welcome).toMatchObject({ resumed: true, lastClientSeq: 3 });
    expect(a2.welcome.lossPossible).toBeUndefined();
    const b2 = await TestPeer.connect(room, "b", { resume: b.welcome.resumeToken, lastSeq: 3 });
    signal(a2, b2, "3 again", 3);
    signal(a2, b2, 4, 4);
    // b2 first gets the restart's presence news about a (reconnecting, resumed), then only frame 4.
    expect(await b2.expect("peer-reconnecting")).toMatchObject({ peerId: a.peerId });
    expect(await b2.expect("peer-resumed")).toMatchObject({ peerId: a.peerId });
    expect(await signalData(b2, 1)).toEqual([4]);
  });

  it("after a crash re-delivers frames whose cseq was not stored yet, flagged by lossPossible", async () => {
    const room = uniqueRoom();
    const { a, b } = await pair(room);
    signal(a, b, "one", 1);
    signal(a, b, "two", 2);
    expect(await signalData(b, 2)).toEqual(["one", "two"]);

    await abortAllDurableObjects(); // a crash before the flush: neither the frames nor a's cseq were stored
    await a.waitClosed();
    await b.waitClosed();
    const a2 = await TestPeer.connect(room, "a", { resume: a.welcome.resumeToken, lastSeq: 1 });
    // Nothing was acknowledged, so the client still holds both frames and sends them again.
    expect(a2.welcome).toMatchObject({ resumed: true, lastClientSeq: 0, lossPossible: true });
    signal(a2, b, "one", 1);
    signal(a2, b, "two", 2);
    const b2 = await TestPeer.connect(room, "b", { resume: b.welcome.resumeToken, lastSeq: 2 });
    expect(b2.welcome).toMatchObject({ resumed: true, lossPossible: true });
    const frames = [await b2.next(), await b2.next(), await b2.next(), await b2.next()];
    // b had received them before the crash: it sees them again, as new seqs above the reserved range.
    expect(frames.filter((frame) => frame.type === "signal").map((frame) => frame.data)).toEqual(["one", "two"]);
    expect(frames.every((frame) => (frame.seq as number) > 2)).toBe(true);
  });

  it("stores the cseq with a frame queued for an absent peer, so a crash neither loses nor repeats it", async () => {
    const room = uniqueRoom();
    const { a, b } = await pair(room);
    b.close(4000);
    await a.expect("peer-reconnecting");
    signal(a, b, "queued", 1);
    // The frame was written through with a's cseq: a re-send is a duplicate even before any flush.
    signal(a, b, "queued again", 1);
    signal(a, b, "marker", 2);
    a.send({ type: "signal", to: "nobody", data: null });
    expect(await a.next()).toMatchObject({ type: "error", code: "unknown_peer" }); // all three were handled
    expect(await storedClientSeq(room, a.peerId)).toBe(2);

    await abortAllDurableObjects();
    await a.waitClosed();
    const a2 = await TestPeer.connect(room, "a", { resume: a.welcome.resumeToken, lastSeq: 2 });
    expect(a2.welcome.lastClientSeq).toBe(2);
    signal(a2, b, "queued", 1); // the client's re-send after resume: nothing above lastClientSeq is new
    signal(a2, b, "marker", 2);
    const b2 = await TestPeer.connect(room, "b", { resume: b.welcome.resumeToken, lastSeq: 0 });
    expect(b2.welcome.lossPossible).toBeUndefined();
    const frames = [await b2.next(), await b2.next()];
    expect(frames).toEqual([
      { type: "signal", from: a.peerId, data: "queued", seq: 1 },
      { type: "signal", from: a.peerId, data: "marker", seq: 2 },
    ]);
    // Then only the restart's presence news about a: no second copy of either frame.
    const news = [await b2.next(), await b2.next()];
    expect(news.map((frame) => frame.type)).toEqual(["peer-reconnecting", "peer-resumed"]);
    expect(b2.pending).toEqual([]);
  });
});
