/**
 * Room routes: `GET /v1/rooms/:room/ws` (WebSocket) and `GET /v1/rooms/:room` (state). Thin: validate the
 * name, authenticate, hand off to the room's Durable Object. The token never reaches the room or a log:
 * the route forwards a fresh request carrying only the verified claims (worker/room/handoff.ts), so no
 * client header — in particular a forged claims header — passes through.
 */
import { Hono } from "hono";
import { ErrorCode } from "../../protocol/errors.ts";
import { roomNameProblem } from "../../protocol/room-name.ts";
import { matchesAnySecret } from "../auth/api-key.ts";
import { bearerToken } from "../auth/bearer.ts";
import { requireRoomToken } from "../auth/room-token.ts";
import { getConfig } from "../config.ts";
import type { AppEnv } from "../env.ts";
import { ProblemError } from "../problem.ts";
import { handoffRequest } from "../room/handoff.ts";
import type { Room } from "../room/room.ts";

/** Longest `?resume=` token accepted (server tokens are 43 characters). */
const MAX_RESUME_TOKEN_LENGTH = 128;

/** Routes mounted at /v1/rooms. */
export const roomRoutes = new Hono<AppEnv>();

/** The validated `:room` parameter; a 400 `invalid_room` problem otherwise. */
function roomParam(room: string): string {
  const problem = roomNameProblem(room);
  if (problem) throw new ProblemError(400, ErrorCode.invalidRoom, problem, { field: "room" });
  return room;
}

function roomStub(env: AppEnv["Bindings"], room: string): DurableObjectStub<Room> {
  const namespace = env.ROOMS as DurableObjectNamespace<Room>;
  return namespace.get(namespace.idFromName(room));
}

roomRoutes.get("/:room/ws", async (c) => {
  const room = roomParam(c.req.param("room"));
  // The token is checked before the upgrade header: a browser learns why its socket failed with a plain GET.
  const claims = await requireRoomToken(c, room);
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ProblemError(
      426,
      ErrorCode.upgradeRequired,
      "this URL takes a WebSocket upgrade (Upgrade: websocket)",
      {},
      { upgrade: "websocket" },
    );
  }
  const resumeToken = c.req.query("resume");
  if (resumeToken !== undefined && (resumeToken.length === 0 || resumeToken.length > MAX_RESUME_TOKEN_LENGTH)) {
    throw new ProblemError(400, ErrorCode.badRequest, `resume must be 1–${MAX_RESUME_TOKEN_LENGTH} characters`, { field: "resume" });
  }
  const lastSeqText = c.req.query("lastSeq");
  let lastSeq: number | undefined;
  if (lastSeqText !== undefined) {
    lastSeq = /^\d{1,15}$/.test(lastSeqText) ? Number(lastSeqText) : Number.NaN;
    if (!Number.isSafeInteger(lastSeq)) {
      throw new ProblemError(400, ErrorCode.badRequest, "lastSeq must be a non-negative integer", { field: "lastSeq" });
    }
  }
  return roomStub(c.env, room).fetch(handoffRequest({ room, claims, resumeToken, lastSeq }));
});

roomRoutes.get("/:room", async (c) => {
  const room = roomParam(c.req.param("room"));
  // Operators may read any room with the admin token (header only, never in a URL); everyone else needs a room token.
  const isAdmin = matchesAnySecret(getConfig(c.env).secrets.adminTokens, bearerToken(c, false));
  if (!isAdmin) await requireRoomToken(c, room);
  const state = await roomStub(c.env, room).describe(room);
  return c.json(state, 200, { "cache-control": "no-store" });
});
