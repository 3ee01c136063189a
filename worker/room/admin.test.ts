import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CloseCode } from "../../protocol/errors.ts";
import type { Room } from "./room.ts";
import { roomStub, roomToken, TestPeer, uniqueRoom } from "./testing.ts";

describe("grants: admin and canPublishData", () => {
  it("refuses kick and close-room without the admin grant", async () => {
    const room = uniqueRoom();
    const a = await TestPeer.connect(room, "a");
    const b = await TestPeer.connect(room, "b");
    await a.expect("peer-joined");
    b.send({ type: "kick", peerId: a.peerId });
    expect(await b.next()).toMatchObject({ type: "error", code: "forbidden", message: expect.stringMatching(/admin/) });
    b.send({ type: "close-room" });
    expect(await b.next()).toMatchObject({ type: "error", code: "forbidden" });
    b.send({ type: "broadcast", data: "still a member" });
    expect(await a.next()).toMatchObject({ type: "broadcast", from: b.peerId, data: "still a member" });
  });

  it("lets an admin kick a peer: kicked close code with the reason, and peer-left kicked for the others", async () => {
    const room = uniqueRoom();
    const admin = await TestPeer.connect(room, "moderator", { grants: { admin: true } });
    const troll = await TestPeer.connect(room, "troll");
    const c = await TestPeer.connect(room, "c");
    await admin.expect("peer-joined");
    await admin.expect("peer-joined");
    await troll.expect("peer-joined");

    admin.send({ type: "kick", peerId: "nobody" });
    expect(await admin.next()).toMatchObject({ type: "error", code: "unknown_peer" });
    admin.send({ type: "kick", peerId: troll.peerId, reason: "spam" });
    expect(await troll.waitClosed()).toEqual({ code: CloseCode.kicked, reason: "spam" });
    expect(await admin.next()).toMatchObject({ type: "peer-left", peerId: troll.peerId, reason: "kicked" });
    expect(await c.next()).toMatchObject({ type: "peer-left", peerId: troll.peerId, reason: "kicked" });

    c.send({ type: "broadcast", data: "the room goes on" });
    expect(await admin.next()).toMatchObject({ type: "broadcast", from: c.peerId });
  });

  it("bans exactly the kicked token", async () => {
    const room = uniqueRoom();
    const admin = await TestPeer.connect(room, "moderator", { grants: { admin: true } });
    const token = await roomToken(room, "troll", { now: Math.floor(Date.now() / 1000) - 5 });
    const troll = await TestPeer.connect(room, "troll", { token });
    await admin.expect("peer-joined");
    admin.send({ type: "kick", peerId: troll.peerId });
    await troll.waitClosed();
    await admin.expect("peer-left");

    const retry = await TestPeer.connect(room, "troll", { token, noWelcome: true });
    expect(await retry.next()).toMatchObject({ type: "error", code: "forbidden", message: expect.stringMatching(/kicked/) });
    expect((await retry.waitClosed()).code).toBe(CloseCode.kicked);
    const resumed = await TestPeer.connect(room, "troll", { token, resume: troll.welcome.resumeToken, noWelcome: true });
    expect(await resumed.next()).toMatchObject({ type: "error", code: "forbidden" });

    // A new token (issued after the kick) may join: the app decides whether to issue one.
    const newToken = await roomToken(room, "troll", { now: Math.floor(Date.now() / 1000) + 1 });
    const back = await TestPeer.connect(room, "troll", { token: newToken });
    expect(back.welcome.resumed).toBe(false);
  });

  it("lets an admin close the room: everyone is disconnected and the room's storage is deleted", async () => {
    const room = uniqueRoom();
    const admin = await TestPeer.connect(room, "moderator", { grants: { admin: true } });
    const b = await TestPeer.connect(room, "b");
    b.close(4000); // b is reconnecting: its session is forgotten too
    await admin.expect("peer-joined");
    await admin.expect("peer-reconnecting");
    const c = await TestPeer.connect(room, "c");
    await admin.expect("peer-joined");

    admin.send({ type: "close-room" });
    expect((await admin.waitClosed()).code).toBe(CloseCode.roomClosed);
    expect((await c.waitClosed()).code).toBe(CloseCode.roomClosed);
    const tables = await runInDurableObject(roomStub(room), (_instance: Room, state) =>
      state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table'").toArray(),
    );
    expect(tables).toEqual([]);

    const fresh = await TestPeer.connect(room, "c");
    expect(fresh.welcome.peers).toEqual([]);
    const late = await TestPeer.connect(room, "b", { resume: b.welcome.resumeToken, noWelcome: true });
    expect(await late.next()).toMatchObject({ type: "error", code: "resume_failed" });
  });

  it("refuses signal and broadcast from a receive-only token, but not metadata or acks", async () => {
    const room = uniqueRoom();
    const a = await TestPeer.connect(room, "a");
    const viewer = await TestPeer.connect(room, "viewer", { grants: { canPublishData: false } });
    await a.expect("peer-joined");
    viewer.send({ type: "signal", to: a.peerId, data: 1 });
    expect(await viewer.next()).toMatchObject({ type: "error", code: "forbidden", message: expect.stringMatching(/publish/) });
    viewer.send({ type: "broadcast", data: 1 });
    expect(await viewer.next()).toMatchObject({ type: "error", code: "forbidden" });
    viewer.send({ type: "metadata", metadata: { hand: "raised" } });
    expect(await a.next()).toMatchObject({ type: "peer-updated", peerId: viewer.peerId, metadata: { hand: "raised" } });
    a.send({ type: "signal", to: viewer.peerId, data: "offer" });
    expect(await viewer.next()).toMatchObject({ type: "signal", from: a.peerId, data: "offer" });
  });
});
