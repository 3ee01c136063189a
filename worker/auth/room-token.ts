/** Room-token authentication for routes: verifies the HS256 JWT before anything reaches a Durable Object. */
import type { Context } from "hono";
import { ErrorCode } from "../../protocol/errors.ts";
import { type RoomTokenClaims, verifyRoomToken } from "../../protocol/room-token.ts";
import { getConfig, requireSecret } from "../config.ts";
import type { AppEnv } from "../env.ts";
import { ProblemError } from "../problem.ts";
import { bearerToken } from "./bearer.ts";

/**
 * Returns the verified claims of the request's room token (header or `?token=`), for `room` when given.
 * Throws a 401/403 problem (`unauthorized`, `token_invalid`, `token_expired`, `wrong_room`) otherwise,
 * or a 500 `misconfigured` when ROOM_TOKEN_SECRET is not set. The token itself is never logged.
 */
export async function requireRoomToken(c: Context<AppEnv>, room?: string): Promise<RoomTokenClaims> {
  const secret = requireSecret(getConfig(c.env).secrets.roomTokenSecret, "ROOM_TOKEN_SECRET");
  const token = bearerToken(c);
  if (!token) {
    throw new ProblemError(
      401,
      ErrorCode.unauthorized,
      "a room token is required (Authorization: Bearer <token> or ?token=<token>)",
      {},
      {
        "www-authenticate": 'Bearer realm="switchboard"',
      },
    );
  }
  const check = await verifyRoomToken(secret, token, room);
  if (!check.ok) throw new ProblemError(check.status, check.code, check.message);
  return check.claims;
}
