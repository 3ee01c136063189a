import { createExecutionContext, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { IceConfigResponse, IceServer } from "../../protocol/ice.ts";
import { mintRoomToken } from "../../protocol/room-token.ts";
import { turnPassword } from "../../protocol/turn-credentials.ts";
import { createApp } from "../app.ts";
import type { Env } from "../env.ts";
import { heartbeat, isolatedEnv, testEnv, uniqueNodeId } from "../registry/testing.ts";

const app = createApp();
const API_KEY = testEnv.API_KEYS!.split(",")[0]!;
const SIGNING_SECRET = testEnv.TURN_SECRETS!.split(",")[0]!;
const STUN = "stun:stun.test:3478";

async function call(bindings: Env, path: string, init: RequestInit & { cf?: Record<string, string> } = {}): Promise<Response> {
  return app.request(new Request(`https://switchboard.test${path}`, init), undefined, bindings, createExecutionContext());
}

let ipCounter = 0;
/** Headers of an API-key request from an IP of its own (the rate limiter keys on key and IP). */
function withKey(key = API_KEY): Record<string, string> {
  ipCounter += 1;
  return { authorization: `Bearer ${key}`, "cf-connecting-ip": `198.51.${Math.floor(ipCounter / 250)}.${ipCounter % 250}` };
}

async function roomToken(userId: string, room = "any-room"): Promise<string> {
  return mintRoomToken(testEnv.ROOM_TOKEN_SECRET!, { room, userId });
}

async function register(bindings: Env, id: string, extra: Parameters<typeof heartbeat>[1] = {}): Promise<void> {
  const response = await call(bindings, "/v1/turn/nodes/heartbeat", {
    method: "POST",
    headers: { authorization: `Bearer ${testEnv.TURN_NODE_TOKEN}` },
    body: JSON.stringify(heartbeat(id, extra)),
  });
  expect(response.status).toBe(200);
}

async function iceAnswer(response: Response): Promise<IceConfigResponse> {
  expect(response.status).toBe(200);
  expect(response.headers.get("cache-control")).toBe("no-store");
  return (await response.json()) as IceConfigResponse;
}

function turnEntry(servers: IceServer[]): IceServer {
  const entry = servers.find((server) => server.urls.some((url) => url.startsWith("turn")));
  if (!entry) throw new Error("no TURN entry");
  return entry;
}

const base = { TURN_NODE_HOSTS: "", STUN_URLS: STUN, TURN_STATIC_URLS: "" };

describe("GET /v1/ice authentication", () => {
  it("refuses a request without credentials with a 401 problem", async () => {
    const response = await SELF.fetch("https://switchboard.test/v1/ice", { headers: { "cf-connecting-ip": "203.0.113.1" } });
    expect(response.status).toBe(401);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(await response.json()).toMatchObject({ code: "unauthorized", status: 401 });
  });

  it("refuses a wrong API key and a forged room token", async () => {
    const forged = await mintRoomToken("not-the-secret", { room: "r", userId: "mallory" });
    for (const token of ["wrong-key", `${API_KEY}x`, forged]) {
      const response = await SELF.fetch("https://switchboard.test/v1/ice", {
        headers: { authorization: `Bearer ${token}`, "cf-connecting-ip": "203.0.113.2" },
      });
      expect(response.status).toBe(401);
      expect(["unauthorized", "token_invalid"]).toContain(((await response.json()) as { code: string }).code);
    }
  });

  it("accepts a room token for any room, from the header or ?token=", async () => {
    const bindings = isolatedEnv(base);
    const token = await roomToken("alice", "some-other-room");
    expect((await call(bindings, "/v1/ice", { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await call(bindings, `/v1/ice?token=${token}`)).status).toBe(200);
  });

  it("limits failed attempts per IP, so keys cannot be guessed at full speed", async () => {
    const bindings = isolatedEnv({ ...base, ICE_RATE_LIMIT_BURST: "3", ICE_RATE_LIMIT_PER_MINUTE: "1" });
    const headers = (key: string) => ({ authorization: `Bearer ${key}`, "cf-connecting-ip": "203.0.113.99" });
    for (let attempt = 0; attempt < 3; attempt++)
      expect((await call(bindings, "/v1/ice", { headers: headers(`guess-${attempt}`) })).status).toBe(401);
    // Out of attempts: even the right key is refused until the bucket refills.
    const refused = await call(bindings, "/v1/ice", { headers: headers(API_KEY) });
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ code: "rate_limited" });
  });
});

describe("GET /v1/ice answers", () => {
  it("mints TURN REST credentials for the token's user: expiry:user, base64 HMAC-SHA1 of the first secret", async () => {
    const bindings = isolatedEnv(base);
    const id = uniqueNodeId();
    await register(bindings, id);
    const before = Math.floor(Date.now() / 1000);
    const answer = await iceAnswer(await call(bindings, "/v1/ice", { headers: { authorization: `Bearer ${await roomToken("alice")}` } }));

    expect(answer.ttl).toBe(3600);
    expect(answer.nodeId).toBe(id);
    expect(answer.warnings).toBeUndefined();
    expect(answer.iceServers[0]).toEqual({ urls: [STUN] });
    const turn = turnEntry(answer.iceServers);
    const [expiry, user] = turn.username!.split(":");
    expect(user).toBe("alice");
    expect(Number(expiry)).toBeGreaterThanOrEqual(before + 3600);
    expect(Number(expiry)).toBeLessThanOrEqual(before + 3601 + 5);
    expect(new Date(answer.expiresAt).getTime()).toBe(Number(expiry) * 1000);
    expect(turn.credential).toBe(await turnPassword(SIGNING_SECRET, turn.username!));
  });

  it("names API-key clients by a short hash that does not contain the key", async () => {
    const bindings = isolatedEnv(base);
    await register(bindings, uniqueNodeId());
    const turn = turnEntry((await iceAnswer(await call(bindings, "/v1/ice", { headers: withKey() }))).iceServers);
    expect(turn.username).toMatch(/^\d+:apikey:[0-9a-f]{8}$/);
    expect(turn.username).not.toContain(API_KEY);
    const other = turnEntry(
      (await iceAnswer(await call(bindings, "/v1/ice", { headers: withKey(testEnv.API_KEYS!.split(",")[1]) }))).iceServers,
    );
    expect(other.username!.split(":")[2]).not.toBe(turn.username!.split(":")[2]);
  });

  it("takes a shorter ?ttl=, caps a longer one at ICE_TTL_SECONDS, refuses a tiny one", async () => {
    const bindings = isolatedEnv({ ...base, ICE_TTL_SECONDS: "7200" });
    await register(bindings, uniqueNodeId());
    expect((await iceAnswer(await call(bindings, "/v1/ice?ttl=600", { headers: withKey() }))).ttl).toBe(600);
    expect((await iceAnswer(await call(bindings, "/v1/ice?ttl=999999", { headers: withKey() }))).ttl).toBe(7200);
    expect((await iceAnswer(await call(bindings, "/v1/ice", { headers: withKey() }))).ttl).toBe(7200);
    for (const ttl of ["10", "abc", "-5"]) {
      const response = await call(bindings, `/v1/ice?ttl=${ttl}`, { headers: withKey() });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ code: "bad_request", field: "ttl" });
    }
  });

  it("puts one node and at most four of its URLs in iceServers, plus STUN_URLS", async () => {
    const bindings = isolatedEnv(base);
    const id = uniqueNodeId();
    const host = `${id}.turn.test`;
    await register(bindings, id, {
      urls: [
        `turn:${host}:3478?transport=udp`,
        `turn:${host}:3478?transport=tcp`,
        `turns:${host}:5349?transport=tcp`,
        `turn:${host}:3479?transport=udp`,
        `stun:${host}:3478`,
        `stun:${host}:3479`,
      ],
    });
    const answer = await iceAnswer(await call(bindings, "/v1/ice", { headers: withKey() }));
    const nodeUrls = answer.iceServers.slice(1).flatMap((server) => server.urls);
    expect(nodeUrls).toHaveLength(4);
    expect(nodeUrls.every((url) => url.includes(host))).toBe(true);
    expect(answer.iceServers).toEqual([
      { urls: [STUN] },
      { urls: [`stun:${host}:3478`] },
      expect.objectContaining({
        urls: [`turn:${host}:3478?transport=udp`, `turn:${host}:3478?transport=tcp`, `turns:${host}:5349?transport=tcp`],
      }),
    ]);
  });

  it("gives every client of a room the same node, whoever and wherever in the region they are", async () => {
    const bindings = isolatedEnv(base);
    const ids = [uniqueNodeId(), uniqueNodeId(), uniqueNodeId(), uniqueNodeId()];
    for (const id of ids) await register(bindings, id);
    const seen = new Set<string>();
    for (let room = 0; room < 8; room++) {
      const fromAlice = await iceAnswer(
        await call(bindings, `/v1/ice?room=room-${room}`, {
          headers: { authorization: `Bearer ${await roomToken("alice")}` },
          cf: { latitude: "48.85", longitude: "2.35", country: "FR", continent: "EU" },
        }),
      );
      const fromKey = await iceAnswer(
        await call(bindings, `/v1/ice?room=room-${room}`, {
          headers: withKey(),
          cf: { latitude: "52.52", longitude: "13.40", country: "DE", continent: "EU" },
        }),
      );
      expect(fromKey.nodeId).toBe(fromAlice.nodeId);
      expect(fromKey.backup?.nodeId).toBe(fromAlice.backup?.nodeId);
      seen.add(fromAlice.nodeId!);
    }
    expect(seen.size).toBeGreaterThan(1); // rooms spread over nodes
    const invalid = await call(bindings, "/v1/ice?room=.hidden", { headers: withKey() });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ code: "invalid_room", field: "room" });
  });

  it("uses the room token's room when the request names no ?room=", async () => {
    const bindings = isolatedEnv(base);
    for (let index = 0; index < 4; index++) await register(bindings, uniqueNodeId());
    for (let room = 0; room < 6; room++) {
      const token = await roomToken("carol", `claim-room-${room}`);
      const implicit = await iceAnswer(await call(bindings, "/v1/ice", { headers: { authorization: `Bearer ${token}` } }));
      const explicit = await iceAnswer(await call(bindings, `/v1/ice?room=claim-room-${room}`, { headers: withKey() }));
      expect(implicit.nodeId).toBe(explicit.nodeId);
    }
  });

  it("prefers the client's region from request.cf", async () => {
    const bindings = isolatedEnv(base);
    const europe = uniqueNodeId("fra");
    const america = uniqueNodeId("iad");
    await register(bindings, europe, { region: "eu-central", location: { lat: 50.11, lon: 8.68 } });
    await register(bindings, america, { region: "us-east", location: { lat: 38.95, lon: -77.45 } });
    for (let room = 0; room < 6; room++) {
      const fromParis = await iceAnswer(
        await call(bindings, `/v1/ice?room=r${room}`, { headers: withKey(), cf: { latitude: "48.85", longitude: "2.35" } }),
      );
      expect(fromParis.nodeId).toBe(europe);
      expect(fromParis.backup?.nodeId).toBe(america);
      const fromBoston = await iceAnswer(
        await call(bindings, `/v1/ice?room=r${room}`, { headers: withKey(), cf: { latitude: "42.36", longitude: "-71.06" } }),
      );
      expect(fromBoston.nodeId).toBe(america);
    }
  });

  it("names a backup node with its own URLs and the same credential, and skips ?exclude= nodes", async () => {
    const bindings = isolatedEnv(base);
    const ids = [uniqueNodeId(), uniqueNodeId(), uniqueNodeId()];
    for (const id of ids) await register(bindings, id);
    const answer = await iceAnswer(await call(bindings, "/v1/ice?room=standup", { headers: withKey() }));
    const backup = answer.backup!;
    expect(backup.nodeId).not.toBe(answer.nodeId);
    const backupTurn = turnEntry(backup.iceServers);
    expect(backupTurn.urls.every((url) => url.includes(`${backup.nodeId}.turn.test`))).toBe(true);
    expect(backupTurn.username).toBe(turnEntry(answer.iceServers).username);
    expect(backupTurn.credential).toBe(turnEntry(answer.iceServers).credential);

    // The client lost its node: excluding it moves the room to the former backup.
    const again = await iceAnswer(await call(bindings, `/v1/ice?room=standup&exclude=${answer.nodeId}`, { headers: withKey() }));
    expect(again.nodeId).toBe(backup.nodeId);
    // Repeated and comma-separated forms both count.
    const third = ids.find((id) => id !== answer.nodeId && id !== backup.nodeId)!;
    const last = await iceAnswer(
      await call(bindings, `/v1/ice?room=standup&exclude=${answer.nodeId},${backup.nodeId}`, { headers: withKey() }),
    );
    expect(last.nodeId).toBe(third);
    expect(last.backup).toBeUndefined();
    const none = await iceAnswer(
      await call(bindings, `/v1/ice?room=standup&exclude=${answer.nodeId}&exclude=${backup.nodeId}&exclude=${third}`, {
        headers: withKey(),
      }),
    );
    expect(none.nodeId).toBeUndefined();
    expect(none.warnings).toEqual(["no_turn_nodes"]);
  });
});

describe("GET /v1/ice without live nodes", () => {
  it("answers STUN only with the warning no_turn_nodes", async () => {
    const answer = await iceAnswer(await call(isolatedEnv(base), "/v1/ice", { headers: withKey() }));
    expect(answer).toMatchObject({ iceServers: [{ urls: [STUN] }], ttl: 3600, warnings: ["no_turn_nodes"] });
    expect(answer.nodeId).toBeUndefined();
    expect(answer.backup).toBeUndefined();
  });

  it("falls back to TURN_STATIC_URLS when the registry is empty, and uses them as backup beside one node", async () => {
    const bindings = isolatedEnv({ ...base, TURN_STATIC_URLS: "turn:coturn.test:3478?transport=udp,turns:coturn.test:5349?transport=tcp" });
    const fallback = await iceAnswer(await call(bindings, "/v1/ice", { headers: withKey() }));
    expect(fallback.nodeId).toBe("static");
    expect(fallback.warnings).toBeUndefined();
    const turn = turnEntry(fallback.iceServers);
    expect(turn.urls).toEqual(["turn:coturn.test:3478?transport=udp", "turns:coturn.test:5349?transport=tcp"]);
    expect(turn.credential).toBe(await turnPassword(SIGNING_SECRET, turn.username!));

    const id = uniqueNodeId();
    await register(bindings, id);
    const withNode = await iceAnswer(await call(bindings, "/v1/ice", { headers: withKey() }));
    expect(withNode.nodeId).toBe(id);
    expect(withNode.backup?.nodeId).toBe("static");
  });

  it("answers 503 only when nothing at all is configured", async () => {
    const response = await call(isolatedEnv({ ...base, STUN_URLS: "" }), "/v1/ice", { headers: withKey() });
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ code: "no_turn_nodes", status: 503 });
  });
});

describe("GET /v1/ice at scale", () => {
  it("reuses the registry snapshot within ICE_SNAPSHOT_CACHE_SECONDS instead of asking the registry per request", async () => {
    const bindings = isolatedEnv({ ...base, ICE_SNAPSHOT_CACHE_SECONDS: "5" });
    const first = uniqueNodeId();
    await register(bindings, first);
    expect((await iceAnswer(await call(bindings, "/v1/ice", { headers: withKey() }))).nodeId).toBe(first);
    // A node that registers now is not seen until the snapshot ages out (at most 5 s): the answer came from the cache.
    const late = uniqueNodeId();
    await register(bindings, late);
    for (let request = 0; request < 10; request++) {
      const answer = await iceAnswer(await call(bindings, "/v1/ice", { headers: withKey() }));
      expect(answer.nodeId).toBe(first);
      expect(answer.backup).toBeUndefined();
    }
    // With the cache off (the other tests), the same registry shows both at once.
    const uncached = await iceAnswer(await call({ ...bindings, ICE_SNAPSHOT_CACHE_SECONDS: "0" }, "/v1/ice", { headers: withKey() }));
    expect([uncached.nodeId, uncached.backup?.nodeId].sort()).toEqual([first, late].sort());
  });

  it("rate-limits each client with 429 rate_limited and Retry-After", async () => {
    const bindings = isolatedEnv({ ...base, ICE_RATE_LIMIT_BURST: "3", ICE_RATE_LIMIT_PER_MINUTE: "6" });
    const headers = { authorization: `Bearer ${await roomToken(`burst-${crypto.randomUUID()}`)}` };
    for (let request = 0; request < 3; request++) expect((await call(bindings, "/v1/ice", { headers })).status).toBe(200);
    const refused = await call(bindings, "/v1/ice", { headers });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("10");
    expect(await refused.json()).toMatchObject({ code: "rate_limited", retryAfter: 10 });
    // Another user is not affected.
    expect(
      (await call(bindings, "/v1/ice", { headers: { authorization: `Bearer ${await roomToken(`other-${crypto.randomUUID()}`)}` } })).status,
    ).toBe(200);
  });
});
