import { listDurableObjectIds, SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { mintRoomToken } from "../../protocol/room-token.ts";
import type { Env } from "../env.ts";
import { CLAIMS_HEADER, ROOM_HEADER } from "../room/handoff.ts";
import { ORIGIN, roomToken, TEST_ADMIN_TOKEN, TestPeer, uniqueRoom, upgrade } from "../room/testing.ts";

interface ProblemBody {
  status: number;
  code: string;
  detail: string;
}

async function problem(response: Response): Promise<ProblemBody> {
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  return (await response.json()) as ProblemBody;
}

/** True when a Durable Object for `room` was ever created (a refused request must not create one). */
async function roomObjectExists(room: string): Promise<boolean> {
  const namespace = (env as unknown as Env).ROOMS;
  const id = namespace.idFromName(room);
  return (await listDurableObjectIds(namespace)).some((existing) => existing.equals(id));
}

function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return SELF.fetch(new URL(path, ORIGIN), { headers });
}

describe("GET /v1/rooms/:room/ws", () => {
  it("refuses bad tokens with a 401/403 problem before anything reaches the room, upgrade or not", async () => {
    const room = uniqueRoom();
    const now = Math.floor(Date.now() / 1000);
    const cases: { query: Record<string, string>; status: number; code: string }[] = [
      { query: {}, status: 401, code: "unauthorized" },
      { query: { token: "not-a-jwt" }, status: 401, code: "token_invalid" },
      {
        query: { token: await mintRoomToken("some-other-secret-0123456789abcdef", { room, userId: "u" }) },
        status: 401,
        code: "token_invalid",
      },
      { query: { token: await roomToken(room, "u", { now: now - 7200, ttlSeconds: 60 }) }, status: 401, code: "token_expired" },
      { query: { token: await roomToken("another-room", "u") }, status: 403, code: "wrong_room" },
    ];
    for (const { query, status, code } of cases) {
      const withUpgrade = await upgrade(room, query);
      expect(withUpgrade.status).toBe(status);
      expect(withUpgrade.webSocket).toBeNull();
      expect(await problem(withUpgrade)).toMatchObject({ status, code });
      // A browser learns the reason with a plain GET to the same URL.
      const url = new URL(`/v1/rooms/${room}/ws`, ORIGIN);
      for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
      const plain = await SELF.fetch(url);
      expect(plain.status).toBe(status);
      expect(await problem(plain)).toMatchObject({ code });
    }
    expect(await roomObjectExists(room)).toBe(false);
  });

  it("accepts the token as a bearer header too", async () => {
    const room = uniqueRoom();
    const token = await roomToken(room, "u");
    const response = await upgrade(room, {}, { authorization: `Bearer ${token}` });
    expect(response.status).toBe(101);
    const peer = new TestPeer(response.webSocket as WebSocket, "u");
    expect(await peer.next()).toMatchObject({ type: "welcome" });
    expect(await roomObjectExists(room)).toBe(true); // the check used above can see a room object
  });

  it("answers a plain GET with a valid token with 426 upgrade_required", async () => {
    const room = uniqueRoom();
    const response = await get(`/v1/rooms/${room}/ws?token=${await roomToken(room, "u")}`);
    expect(response.status).toBe(426);
    expect(response.headers.get("upgrade")).toBe("websocket");
    expect(await problem(response)).toMatchObject({ code: "upgrade_required" });
    expect(await roomObjectExists(room)).toBe(false);
  });

  it("refuses invalid room names with 400 invalid_room", async () => {
    for (const name of [".hidden", "a".repeat(65), "spaces here", "ünïcode"]) {
      const response = await upgrade(name, { token: await roomToken(name, "u") });
      expect(response.status).toBe(400);
      expect(await problem(response)).toMatchObject({ code: "invalid_room" });
    }
  });

  it("refuses a malformed lastSeq or resume with 400 bad_request", async () => {
    const room = uniqueRoom();
    const token = await roomToken(room, "u");
    const queries: Record<string, string>[] = [
      { lastSeq: "-1" },
      { lastSeq: "1.5" },
      { lastSeq: "9".repeat(20) },
      { resume: "r".repeat(200) },
    ];
    for (const query of queries) {
      const response = await upgrade(room, { token, ...query });
      expect(response.status).toBe(400);
      expect(await problem(response)).toMatchObject({ code: "bad_request" });
    }
  });

  it("ignores handoff headers sent by a client: claims come only from the verified token", async () => {
    const room = uniqueRoom();
    const victim = await TestPeer.connect(room, "victim");
    const forged = JSON.stringify({ room, sub: "victim", exp: 9_999_999_999, grants: { admin: true } });
    const attacker = await TestPeer.connect(room, "attacker", {
      headers: { [CLAIMS_HEADER]: forged, [ROOM_HEADER]: "another-room" },
    });
    expect(attacker.welcome).toMatchObject({ room });
    await victim.expect("peer-joined");
    expect(victim.welcome.peers).toEqual([]);
    attacker.send({ type: "kick", peerId: victim.peerId });
    expect(await attacker.next()).toMatchObject({ type: "error", code: "forbidden" });
    const state = (await (await get(`/v1/rooms/${room}`, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` })).json()) as {
      peers: { userId: string }[];
    };
    expect(state.peers.map((peer) => peer.userId)).toEqual(["victim", "attacker"]);
  });
});

describe("GET /v1/rooms/:room", () => {
  it("returns the room's state to a room-token holder", async () => {
    const room = uniqueRoom();
    const a = await TestPeer.connect(room, "alice", { name: "Alice", metadata: { role: "host" } });
    const b = await TestPeer.connect(room, "bob");
    await a.expect("peer-joined");
    b.close(4000);
    await a.expect("peer-reconnecting");

    const response = await get(`/v1/rooms/${room}`, { authorization: `Bearer ${await roomToken(room, "observer")}` });
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(await response.json()).toEqual({
      room,
      createdAt: expect.any(Number),
      peers: [
        { peerId: a.peerId, userId: "alice", name: "Alice", metadata: { role: "host" }, joinedAt: expect.any(Number), status: "connected" },
        { peerId: b.peerId, userId: "bob", metadata: {}, joinedAt: expect.any(Number), status: "reconnecting" },
      ],
    });
  });

  it("accepts the admin token in the Authorization header (not in the URL)", async () => {
    const room = uniqueRoom();
    await TestPeer.connect(room, "alice");
    const asAdmin = await get(`/v1/rooms/${room}`, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
    expect(asAdmin.status).toBe(200);
    expect(((await asAdmin.json()) as { peers: unknown[] }).peers).toHaveLength(1);
    const inUrl = await get(`/v1/rooms/${room}?token=${TEST_ADMIN_TOKEN}`);
    expect(inUrl.status).toBe(401);
    const wrong = await get(`/v1/rooms/${room}`, { authorization: "Bearer test-admin-tokeN" });
    expect(await problem(wrong)).toMatchObject({ status: 401, code: "token_invalid" });
  });

  it("refuses missing and wrong-room tokens, and answers an unknown room with empty state", async () => {
    const room = uniqueRoom();
    expect(await problem(await get(`/v1/rooms/${room}`))).toMatchObject({ status: 401, code: "unauthorized" });
    const wrongRoom = await get(`/v1/rooms/${room}`, { authorization: `Bearer ${await roomToken("elsewhere", "u")}` });
    expect(await problem(wrongRoom)).toMatchObject({ status: 403, code: "wrong_room" });
    const empty = await get(`/v1/rooms/${room}?token=${await roomToken(room, "u")}`);
    expect(await empty.json()).toEqual({ room, createdAt: null, peers: [] });
    expect(await problem(await get("/v1/rooms/.bad"))).toMatchObject({ status: 400, code: "invalid_room" });
  });
});
