/**
 * The client's Room against the real worker and Room Durable Object (`wrangler dev` on 127.0.0.1:8732):
 * two clients exchange signals; one socket is killed mid-stream and the resume delivers every frame
 * exactly once, in order — frames to the killed client and frames it wrote just before dying; refusals stop
 * the client with their code.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket as NodeWebSocket } from "ws";
import { Room, type RoomEvents } from "../client/src/room.ts";
import { devToken } from "./support/dev-token.ts";
import { eventually } from "./support/wait.ts";
import { type RunningWorker, startWorker } from "./support/worker.ts";

/** Fixed ports from the client engineer's range (wrangler dev needs its own port and inspector port). */
const PORT = 8732;
const INSPECTOR_PORT = 9332;

let dev: RunningWorker;

beforeAll(async () => {
  dev = await startWorker({ port: PORT, inspectorPort: INSPECTOR_PORT, readyTimeoutMs: 90_000 });
}, 120_000);

afterAll(async () => {
  await dev?.stop();
});

/**
 * A `ws` WebSocket (WHATWG-compatible event API) that the test can cut like a network failure. While
 * `blackhole` is set, frames the client writes vanish, as frames written into a dying connection do.
 */
class KillableSocket extends NodeWebSocket {
  static all: KillableSocket[] = [];
  blackhole = false;
  constructor(url: string | URL) {
    super(url);
    KillableSocket.all.push(this);
    const send = this.send.bind(this);
    this.send = ((...args: Parameters<typeof send>) => {
      if (!this.blackhole) send(...args);
    }) as typeof send;
  }
}

/** Resolves when `promise` does, or after `ms`. */
function settle(promise: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

let roomCounter = 0;
function roomName(): string {
  return `client-it-${process.pid}-${Date.now().toString(36)}-${roomCounter++}`;
}

/**
 * Collects what `client` receives as signals, mapped by `read`; `done` resolves once `count` have arrived
 * (the callers compare the whole list afterwards, so a duplicate or gap still fails).
 */
function collectSignals<T>(client: Room, count: number, read: (signal: RoomEvents["signal"]) => T): { values: T[]; done: Promise<void> } {
  const values: T[] = [];
  const done = new Promise<void>((resolve) =>
    client.on("signal", (signal) => {
      values.push(read(signal));
      if (values.length >= count) resolve();
    }),
  );
  return { values, done };
}

async function join(room: string, user: string, options: { killable?: boolean } = {}): Promise<Room> {
  const client = new Room({
    baseUrl: dev.origin,
    room,
    token: await devToken(dev.origin, room, user),
    backoff: { initialDelayMs: 50, maxDelayMs: 500 },
    ...(options.killable ? { WebSocket: KillableSocket as unknown as typeof WebSocket } : {}),
  });
  await client.connect();
  return client;
}

describe("Room client ↔ Room Durable Object", () => {
  it("two clients see each other and exchange signals in order", async () => {
    const room = roomName();
    const alice = await join(room, "alice");
    const joined = alice.next("peer-joined");
    const bob = await join(room, "bob");
    expect((await joined).peerId).toBe(bob.peerId);
    expect([...bob.peers.keys()]).toEqual([alice.peerId]);

    const { values: received, done: all } = collectSignals(bob, 50, ({ from, data }) => {
      expect(from).toBe(alice.peerId);
      return (data as { n: number }).n;
    });
    for (let n = 0; n < 50; n++) alice.signal(bob.peerId!, { n });
    await all;
    expect(received).toEqual(Array.from({ length: 50 }, (_, n) => n));

    const left = alice.next("peer-left");
    await bob.leave();
    expect(await left).toMatchObject({ peerId: bob.peerId, reason: "left" });
    await alice.leave();
  });

  it("resumes a socket killed mid-stream: every frame arrives exactly once, in order, same peer id", async () => {
    const room = roomName();
    const alice = await join(room, "alice");
    const bob = await join(room, "bob", { killable: true });
    const bobId = bob.peerId!;
    const aliceSaw: string[] = [];
    for (const type of ["peer-left", "peer-reconnecting", "peer-resumed"] as const) alice.on(type, () => aliceSaw.push(type));

    const total = 300;
    const { values: received, done } = collectSignals(bob, total, ({ data }) => (data as { n: number }).n);
    const resumed = bob.next("welcome");
    // Send in bursts, and cut bob's TCP connection (no close frame) while frames are in flight.
    for (let n = 0; n < total; n++) {
      alice.signal(bobId, { n });
      if (n === 120) KillableSocket.all.at(-1)?.terminate();
      if (n % 20 === 19) await new Promise((resolve) => setImmediate(resolve));
    }
    const welcome = await resumed;
    expect(welcome.resumed).toBe(true);
    expect(welcome.peerId).toBe(bobId);
    await done;
    expect(received).toEqual(Array.from({ length: total }, (_, n) => n));
    expect(aliceSaw).not.toContain("peer-left");
    await Promise.all([alice.leave(), bob.leave()]);
  });

  it("a client that was away resumes the frames sent while it was gone, and its own queued frames go out", async () => {
    const room = roomName();
    const alice = await join(room, "alice");
    const bob = await join(room, "bob", { killable: true });
    const bobId = bob.peerId!;
    const aliceId = alice.peerId!;
    const reconnecting = bob.next("reconnecting");
    KillableSocket.all.at(-1)?.terminate();
    await reconnecting;
    // While bob is down: alice keeps signalling him, and bob's app keeps signalling alice.
    for (let n = 0; n < 10; n++) alice.signal(bobId, { n });
    for (let n = 0; n < 5; n++) bob.signal(aliceId, { fromBob: n });
    const { values: bobGot, done: bobDone } = collectSignals(bob, 10, ({ data }) => (data as { n: number }).n);
    const { values: aliceGot, done: aliceDone } = collectSignals(alice, 5, ({ data }) => (data as { fromBob: number }).fromBob);
    await Promise.all([bobDone, aliceDone]);
    expect(bobGot).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(aliceGot).toEqual([0, 1, 2, 3, 4]);
    expect(bob.peerId).toBe(bobId);
    await Promise.all([alice.leave(), bob.leave()]);
  });

  it("sends again the frames a client wrote into a dying socket: the recipient gets each exactly once, in order", async () => {
    const room = roomName();
    const alice = await join(room, "alice");
    const bob = await join(room, "bob", { killable: true });
    const aliceId = alice.peerId!;
    expect(bob.acknowledgesClientFrames).toBe(true);
    const total = 120;
    const { values: received, done } = collectSignals(alice, total, ({ data }) => (data as { n: number }).n);
    const socket = () => KillableSocket.all.at(-1) as KillableSocket;
    const resumes: boolean[] = [];
    bob.on("welcome", (welcome) => resumes.push(welcome.resumed));

    // 1. Frames 0–29 go out; 30–39 are written into a connection that already lost them (no server could ack
    //    them); then the socket dies. 40–49 are written while bob is reconnecting.
    for (let n = 0; n < 30; n++) bob.signal(aliceId, { n });
    await new Promise((resolve) => setImmediate(resolve));
    socket().blackhole = true;
    for (let n = 30; n < 40; n++) bob.signal(aliceId, { n });
    const reconnecting = bob.next("reconnecting");
    socket().terminate();
    await reconnecting;
    for (let n = 40; n < 50; n++) bob.signal(aliceId, { n });
    const resumed = await bob.next("welcome");
    expect(resumed).toMatchObject({ resumed: true, peerId: bob.peerId });
    expect(resumed.lastClientSeq).toBeLessThanOrEqual(30);

    // 2. Killed right after sending, with no blackhole: whatever the room did or did not process is settled by cseq.
    for (let n = 50; n < 80; n++) bob.signal(aliceId, { n });
    const reconnectingAgain = bob.next("reconnecting");
    socket().terminate();
    await reconnectingAgain;
    await bob.next("welcome");

    // 3. Then a plain burst on the resumed session.
    for (let n = 80; n < total; n++) bob.signal(aliceId, { n });
    await settle(done, 10_000); // bounded, so a lost frame fails the comparison below rather than the test timeout
    expect(resumes).toEqual([true, true]);
    // Everything was acknowledged in the end (client-acks come with the room's ~250 ms flush); a late duplicate
    // would have arrived by then.
    await eventually("bob's frames acknowledged", async () => (bob.unackedFrames === 0 ? true : undefined), {
      timeoutMs: 5000,
      intervalMs: 50,
    });
    expect(received).toEqual(Array.from({ length: total }, (_, n) => n));
    await Promise.all([alice.leave(), bob.leave()]);
  });

  it("stops at once with the server's code when the token is refused", async () => {
    const room = roomName();
    const forged = new Room({ baseUrl: dev.origin, room, token: "not-a-jwt" });
    await expect(forged.connect()).rejects.toMatchObject({ code: "token_invalid", status: 401, fatal: true });
    expect(forged.state).toBe("failed");
    const otherRoom = new Room({ baseUrl: dev.origin, room, token: await devToken(dev.origin, `${room}-other`, "eve") });
    await expect(otherRoom.connect()).rejects.toMatchObject({ code: "wrong_room", status: 403, fatal: true });
  });
});
