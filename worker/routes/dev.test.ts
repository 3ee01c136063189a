import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { verifyRoomToken } from "../../protocol/room-token.ts";
import { createApp } from "../app.ts";
import type { Env } from "../env.ts";
import type { DevTokenAnswer } from "./dev.ts";

// The test project runs with ENVIRONMENT="test"; each case hands the app its own env to pick the environment.
const baseEnv = env as unknown as Env;
const app = createApp();

function withEnvironment(environment: string | undefined, overrides: Partial<Env> = {}): Env {
  return { ...baseEnv, ENVIRONMENT: environment, ...overrides };
}

async function request(path: string, bindings: Env): Promise<Response> {
  return app.request(`https://switchboard.test${path}`, {}, bindings);
}

describe("GET /dev/token in development", () => {
  const development = withEnvironment("development");

  it("mints a room token the worker verifies, for that room and user", async () => {
    const before = Math.floor(Date.now() / 1000);
    const response = await request("/dev/token?room=dev-room-1&user=alice", development);
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const answer = (await response.json()) as DevTokenAnswer;
    expect(answer).toMatchObject({ room: "dev-room-1", userId: "alice" });

    const check = await verifyRoomToken(baseEnv.ROOM_TOKEN_SECRET!, answer.token, "dev-room-1");
    if (!check.ok) throw new Error(`token refused: ${check.code}`);
    expect(check.claims.sub).toBe("alice");
    expect(check.claims.grants?.admin).toBeUndefined();
    expect(check.claims.exp).toBeGreaterThanOrEqual(before + 3600);
    expect(check.claims.exp).toBeLessThanOrEqual(before + 3601 + 5);
    expect(Date.parse(answer.expiresAt) / 1000).toBe(check.claims.exp);

    // A token for one room is refused for another: the dev route mints nothing broader than asked.
    const otherRoom = await verifyRoomToken(baseEnv.ROOM_TOKEN_SECRET!, answer.token, "dev-room-2");
    expect(otherRoom).toMatchObject({ ok: false, code: "wrong_room" });
  });

  it("grants admin with ?admin=1 and honours ?ttl=", async () => {
    const response = await request("/dev/token?room=dev-room-admin&user=bob&admin=1&ttl=120", development);
    expect(response.status).toBe(200);
    const answer = (await response.json()) as DevTokenAnswer;
    const check = await verifyRoomToken(baseEnv.ROOM_TOKEN_SECRET!, answer.token);
    if (!check.ok) throw new Error(`token refused: ${check.code}`);
    expect(check.claims.grants).toEqual({ admin: true });
    expect(check.claims.exp - (check.claims.iat ?? 0)).toBe(120);
  });

  it("refuses an invalid room name with a 400 invalid_room problem", async () => {
    for (const room of ["", ".hidden", "a/b", "x".repeat(65)]) {
      const response = await request(`/dev/token?room=${encodeURIComponent(room)}&user=alice`, development);
      expect(response.status).toBe(400);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      expect(await response.json()).toMatchObject({ code: "invalid_room", field: "room" });
    }
  });

  it("refuses a missing user and a bad ttl naming the field", async () => {
    const noUser = await request("/dev/token?room=dev-room-3", development);
    expect(noUser.status).toBe(400);
    expect(await noUser.json()).toMatchObject({ code: "bad_request", field: "user" });

    const badTtl = await request("/dev/token?room=dev-room-3&user=a&ttl=-5", development);
    expect(badTtl.status).toBe(400);
    expect(await badTtl.json()).toMatchObject({ code: "bad_request", field: "ttl" });
  });

  it("answers a 500 problem naming ROOM_TOKEN_SECRET when it is not set", async () => {
    const response = await request("/dev/token?room=dev-room-4&user=alice", withEnvironment("development", { ROOM_TOKEN_SECRET: "" }));
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ code: "misconfigured", setting: "ROOM_TOKEN_SECRET" });
  });
});

describe("GET /dev/token outside development", () => {
  async function expectUnknownRoute(bindings: Env): Promise<void> {
    const response = await request("/dev/token?room=dev-room-5&user=alice", bindings);
    const unknown = await request("/dev/no-such-route", bindings);
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    const body = (await response.json()) as Record<string, unknown>;
    const unknownBody = (await unknown.json()) as Record<string, unknown>;
    // Byte for byte the unknown-route answer, apart from the path it names.
    expect(body).toEqual({ ...unknownBody, detail: "no route for GET /dev/token" });
    expect(body).not.toHaveProperty("token");
  }

  it("is a plain 404 in production", async () => {
    await expectUnknownRoute(withEnvironment("production"));
  });

  it("is a plain 404 in staging and when ENVIRONMENT is unset (production is the default)", async () => {
    await expectUnknownRoute(withEnvironment("staging"));
    await expectUnknownRoute(withEnvironment(undefined));
  });

  it("is a plain 404 through the deployed entry point (tests run with ENVIRONMENT=test)", async () => {
    const response = await SELF.fetch("https://switchboard.test/dev/token?room=dev-room-6&user=alice");
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: "not_found", detail: "no route for GET /dev/token" });
  });
});
