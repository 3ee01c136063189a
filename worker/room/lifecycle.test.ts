import { abortAllDurableObjects, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CloseCode } from "../../protocol/errors.ts";
import { type Room, SEQ_RESERVE_BLOCK } from "./room.ts";
import { roomStub, TestPeer, uniqueRoom } from "./testing.ts";

afterEach(() => {
  vi.useRealTimers();
});

/** Persists the room's pending outbox state, as the coalesced flush timer would. */
function flush(room: string): Promise<void> {
  return runInDurableObject(roomStub(room), (instance: Room) => instance.flush());
}

function describeRoom(room: string) {
  return runInDurableObject(roomStub(room), (instance: Room) => instance.describe(room));
}

function tableNames(room: string): Promise<string[]> {
  return runInDurableObject(roomStub(room), (_instance, state) =>
    state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .toArray()
      .map((row) => row.name),
  );
}

describe("room lifecycle: hibernation, eviction, sweeps, TTL", () => {
  it("keeps presence, sockets and contiguous seqs across hibernation (eviction with sockets kept)", async () => {
    const room = uniqueRoom();
    const a = await TestPeer.connect(room, "a", { metadata: { color: "red" } });
    const b = await TestPeer.connect(room, "b");
    expect((await a.expect("peer-joined")).seq).toBe(1);
    b.send({ type: "signal", to: a.peerId, data: "before" });
    expect((await a.next()).seq).toBe(2);
    await flush(room);

    await evictDurableObject(roomStub(room)); // the instance is torn down; hibernatable sockets stay open
    b.send({ type: "signal", to: a.peerId, data: "after" });
    expect(await a.next()).toEqual({ type: "signal", from: b.peerId, data: "after", seq: 3 });
    const state = await describeRoom(room);
    expect(state.peers).toMatchObject([
      { peerId: a.peerId, metadata: { color: "red" }, status: "connected" },
      { peerId: b.peerId, status: "connected" },
    ]);
  });

  it("makes a quiet room's storage complete by itself (coalesced flush), so a later restart loses nothing", async () => {
    const room = uniqueRoom();
    const a = await TestPeer.connect(room, "a");
    const b = await TestPeer.connect(room, "b");
    await a.expect("peer-joined");
    b.send({ type: "signal", to: a.peerId, data: "unacked" });
    expect((await a.next()).seq).toBe(2);
    // Bounded poll of storage: the flush timer writes the frame, and a later idle flush clears the reserve.
    const stored = () =>
      runInDurableObject(roomStub(room), (_instance: Room, state) => ({
        reserve: state.storage.sql.exec<{ r: number }>("SELECT seq_reserve AS r FROM room").one().r,
        frames: state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM frames").one().n,
      }));
    let snapshot = await stored();
    for (let polls = 0; polls < 40 && (snapshot.reserve !== 0 || snapshot.frames !== 2); polls++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      snapshot = await stored();
    }
    expect(snapshot).toEqual({ reserve: 0, frames: 2 }); // a's unacked peer-joined and signal

    await evictDurableObject(roomStub(room), { webSockets: "close" });
    await a.waitClosed();
    const a2 = await TestPeer.connect(room, "a", { resume: a.welcome.resumeToken, lastSeq: 0 });
    expect(a2.welcome.lossPossible).toBeUndefined();
    expect(await a2.next()).toMatchObject({ type: "peer-joined", seq: 1 });
    expect(await a2.next()).toMatchObject({ type: "signal", data: "unacked", seq: 2 });
  });

  it("after a crash (no final flush) continues seqs above every seq already sent, and flags possible loss", async () => {
    const room = uniqueRoom();
    const a = await TestPeer.connect(room, "a");
    const b = await TestPeer.connect(room, "b");
    await a.expect("peer-joined");
    for (let index = 0; index < 5; index++) b.send({ type: "signal", to: a.peerId, data: index });
    let lastSeq = 0;
    for (let index = 0; index < 5; index++) lastSeq = (await a.next()).seq as number;
    expect(lastSeq).toBe(6);

    await abortAllDurableObjects(); // a crash: no drain, no flush timer runs
    expect((await a.waitClosed()).code).toBe(1006);
    const a2 = await TestPeer.connect(room, "a", { resume: a.welcome.resumeToken, lastSeq });
    expect(a2.welcome).toMatchObject({ peerId: a.peerId, resumed: true, lossPossible: true });
    // The restart cannot know how far the last instance got: it continues above the whole reserved range.
    const next = await a2.next();
    expect(next).toMatchObject({ type: "peer-reconnecting", peerId: b.peerId });
    expect(next.seq).toBeGreaterThan(lastSeq + 1);
    expect(next.seq).toBeLessThanOrEqual(lastSeq + SEQ_RESERVE_BLOCK + 1);
  });

  it("survives a restart that closes every socket: peers resume and get every frame stored before it", async () => {
    const room = uniqueRoom();
    const a = await TestPeer.connect(room, "a");
    const b = await TestPeer.connect(room, "b");
    await a.expect("peer-joined");
    a.send({ type: "signal", to: b.peerId, data: "unacked-1" });
    a.send({ type: "signal", to: b.peerId, data: "unacked-2" });
    expect((await b.next()).seq).toBe(1);
    expect((await b.next()).seq).toBe(2);
    await flush(room);

    await evictDurableObject(roomStub(room), { webSockets: "close" }); // like a deploy
    expect((await a.waitClosed()).code).toBe(1006);
    expect((await b.waitClosed()).code).toBe(1006);

    const a2 = await TestPeer.connect(room, "a", { resume: a.welcome.resumeToken, lastSeq: 1 });
    expect(a2.welcome).toMatchObject({ peerId: a.peerId, resumed: true });
    expect(a2.welcome.lossPossible).toBeUndefined(); // the last flush was complete
    // b's socket vanished with the old instance: the others learn it is reconnecting, then back.
    expect(await a2.next()).toMatchObject({ type: "peer-reconnecting", peerId: b.peerId, seq: 2 });
    a2.send({ type: "signal", to: b.peerId, data: "while-b-is-away" });

    const b2 = await TestPeer.connect(room, "b", { resume: b.welcome.resumeToken, lastSeq: 0 });
    expect(b2.welcome).toMatchObject({ peerId: b.peerId, resumed: true });
    expect([await b2.next(), await b2.next(), await b2.next(), await b2.next(), await b2.next()]).toEqual([
      { type: "signal", from: a.peerId, data: "unacked-1", seq: 1 },
      { type: "signal", from: a.peerId, data: "unacked-2", seq: 2 },
      // While b was away, a was found reconnecting at the restart and then resumed.
      { type: "peer-reconnecting", peerId: a.peerId, seq: 3 },
      { type: "peer-resumed", peerId: a.peerId, seq: 4 },
      { type: "signal", from: a.peerId, data: "while-b-is-away", seq: 5 },
    ]);
    expect(await a2.next()).toMatchObject({ type: "peer-resumed", peerId: b.peerId });
  });

  it("after a crash, keeps every frame queued for an absent peer, and flags loss only for peers that were connected", async () => {
    const room = uniqueRoom();
    const a = await TestPeer.connect(room, "a");
    const b = await TestPeer.connect(room, "b");
    await a.expect("peer-joined"); // a: seq 1
    b.close(4000);
    await a.expect("peer-reconnecting"); // a: seq 2
    const c = await TestPeer.connect(room, "c");
    // Sent to a live socket and not flushed: a restart may lose it (a got it here, but the server cannot know).
    const joined = await a.expect("peer-joined"); // a: seq 3
    // Queued for the absent b: written through, so it survives the restart below.
    a.send({ type: "signal", to: b.peerId, data: "queued" });
    a.send({ type: "broadcast", data: "to-c-and-queued-for-b" });
    await c.expect("broadcast"); // both frames of a were handled

    await abortAllDurableObjects(); // a crash before the flush timer ran
    await a.waitClosed();
    await c.waitClosed();

    const a2 = await TestPeer.connect(room, "a", { resume: a.welcome.resumeToken, lastSeq: joined.seq });
    expect(a2.welcome).toMatchObject({ resumed: true, lossPossible: true });
    const reconnecting = await a2.next();
    expect(reconnecting).toMatchObject({ type: "peer-reconnecting", peerId: c.peerId });
    expect(reconnecting.seq).toBeGreaterThan(joined.seq + 1); // above the reserved range

    const b2 = await TestPeer.connect(room, "b", { resume: b.welcome.resumeToken, lastSeq: 0 });
    expect(b2.welcome.lossPossible).toBeUndefined(); // b was away: its frames were stored as they came
    expect([await b2.next(), await b2.next(), await b2.next()]).toEqual([
      { type: "peer-joined", peerId: c.peerId, peer: expect.objectContaining({ userId: "c" }), seq: 1 },
      { type: "signal", from: a.peerId, data: "queued", seq: 2 },
      { type: "broadcast", from: a.peerId, data: "to-c-and-queued-for-b", seq: 3 },
    ]);
    // Then the restart's presence news: a and c found reconnecting, a resumed.
    const news = [await b2.next(), await b2.next(), await b2.next()];
    expect(news.map((frame) => [frame.type, frame.peerId])).toEqual([
      ["peer-reconnecting", a.peerId],
      ["peer-reconnecting", c.peerId],
      ["peer-resumed", a.peerId],
    ]);
    expect(news.map((frame) => frame.seq)).toEqual([4, 5, 6]); // b's own frames were all stored: no gap
  });

  it("closes a silent socket with the idle code and starts its grace", async () => {
    const room = uniqueRoom();
    const a = await TestPeer.connect(room, "a");
    const b = await TestPeer.connect(room, "b");
    await a.expect("peer-joined");

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 61_000);
    // a speaks after the clock moved (the answer proves the room handled it); b stays silent.
    a.send({ type: "signal", to: "nobody", data: null });
    expect(await a.next()).toMatchObject({ type: "error", code: "unknown_peer" });
    expect(await runDurableObjectAlarm(roomStub(room))).toBe(true);
    expect((await b.waitClosed()).code).toBe(CloseCode.idleTimeout);
    expect(await a.next()).toMatchObject({ type: "peer-reconnecting", peerId: b.peerId });
    const b2 = await TestPeer.connect(room, "b", { resume: b.welcome.resumeToken, lastSeq: 0 });
    expect(b2.welcome).toMatchObject({ peerId: b.peerId, resumed: true });
  });

  it("deletes an empty room's storage after the TTL", async () => {
    const room = uniqueRoom();
    const a = await TestPeer.connect(room, "a");
    a.close(1000);
    await a.waitClosed();
    expect(await tableNames(room)).toContain("peers");
    expect((await describeRoom(room)).createdAt).toEqual(expect.any(Number));

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 301_000);
    let ran = 0;
    // The first alarm may be the sweep scheduled at join; it reschedules to the TTL. Bounded: at most 3 runs.
    while (ran < 3 && (await tableNames(room)).length > 0 && (await runDurableObjectAlarm(roomStub(room)))) ran++;
    expect(await tableNames(room)).toEqual([]);
    expect(await describeRoom(room)).toEqual({ room, createdAt: null, peers: [] });

    vi.useRealTimers();
    const fresh = await TestPeer.connect(room, "b");
    expect(fresh.welcome.peers).toEqual([]);
  });

  it("stores nothing for a room that is only looked at", async () => {
    const room = uniqueRoom();
    expect(await describeRoom(room)).toEqual({ room, createdAt: null, peers: [] });
    expect(await tableNames(room)).toEqual([]);
  });
});
