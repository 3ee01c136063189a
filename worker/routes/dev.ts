/**
 * Development-only helpers: `GET /dev/token` mints a room token so the demo page and curl work without an
 * app backend. Outside ENVIRONMENT=development every /dev route answers exactly like an unknown route (404
 * problem), so production does not even reveal that the route exists.
 */
import { Hono } from "hono";
import { ErrorCode } from "../../protocol/errors.ts";
import { roomNameProblem } from "../../protocol/room-name.ts";
import { mintRoomToken } from "../../protocol/room-token.ts";
import { getConfig, requireSecret } from "../config.ts";
import type { AppEnv } from "../env.ts";
import { ProblemError } from "../problem.ts";

/** Lifetime of a dev token unless `?ttl=` asks otherwise, seconds. */
export const DEV_TOKEN_TTL_SECONDS = 3600;
/** Longest `?ttl=` accepted, seconds (one day: dev tokens are for a session at a desk). */
export const DEV_TOKEN_MAX_TTL_SECONDS = 86_400;
/** Longest user id a room token carries (its `sub` claim). */
const MAX_USER_ID_LENGTH = 128;

/** The answer of `GET /dev/token`. */
export interface DevTokenAnswer {
  token: string;
  room: string;
  userId: string;
  /** ISO 8601 time the token stops being accepted. */
  expiresAt: string;
}

/** Routes mounted at /dev. */
export const devRoutes = new Hono<AppEnv>();

// The gate: any environment other than "development" sees the app's own 404, via c.notFound(), which runs
// the parent app's notFound handler (Hono passes it to every Context it creates).
devRoutes.use("*", async (c, next) => {
  if (!getConfig(c.env).isDevelopment) return c.notFound();
  await next();
});

devRoutes.get("/token", async (c) => {
  const room = c.req.query("room") ?? "";
  const roomProblem = roomNameProblem(room);
  if (roomProblem !== null) throw new ProblemError(400, ErrorCode.invalidRoom, `?room=: ${roomProblem}`, { field: "room" });

  const userId = (c.req.query("user") ?? "").trim();
  if (userId.length === 0 || userId.length > MAX_USER_ID_LENGTH) {
    throw new ProblemError(400, ErrorCode.badRequest, `?user= must be 1 to ${MAX_USER_ID_LENGTH} characters`, { field: "user" });
  }

  const ttlSeconds = parseTtl(c.req.query("ttl"));
  const admin = isTruthyFlag(c.req.query("admin"));
  const secret = requireSecret(getConfig(c.env).secrets.roomTokenSecret, "ROOM_TOKEN_SECRET");

  const now = Math.floor(Date.now() / 1000);
  const token = await mintRoomToken(secret, { room, userId, ttlSeconds, now, ...(admin ? { grants: { admin: true } } : {}) });
  const answer: DevTokenAnswer = { token, room, userId, expiresAt: new Date((now + ttlSeconds) * 1000).toISOString() };
  return c.json(answer, 200, { "cache-control": "no-store" });
});

function parseTtl(raw: string | undefined): number {
  if (raw === undefined || raw === "") return DEV_TOKEN_TTL_SECONDS;
  const ttl = Number(raw);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > DEV_TOKEN_MAX_TTL_SECONDS) {
    throw new ProblemError(400, ErrorCode.badRequest, `?ttl= must be an integer from 1 to ${DEV_TOKEN_MAX_TTL_SECONDS} seconds`, {
      field: "ttl",
    });
  }
  return ttl;
}

// `?admin`, `?admin=1` and `?admin=true` grant admin; absent, `0` or `false` do not.
function isTruthyFlag(raw: string | undefined): boolean {
  return raw !== undefined && raw !== "0" && raw.toLowerCase() !== "false";
}
