/** The query of `GET /v1/ice`: `?room=`, `?ttl=`, `?exclude=` (repeatable and/or comma-separated). */
import { ErrorCode } from "../../protocol/errors.ts";
import { roomNameProblem } from "../../protocol/room-name.ts";
import { ProblemError } from "../problem.ts";

/** Shortest credential lifetime a client may ask for: allocations are refreshed well inside this. */
export const MIN_ICE_TTL_SECONDS = 60;
/** Most node ids one request may exclude. */
export const MAX_EXCLUDED_NODES = 16;
const NODE_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The validated query. */
export interface IceQuery {
  room?: string;
  /** Credential lifetime: `?ttl=` when given (never more than ICE_TTL_SECONDS), else ICE_TTL_SECONDS. */
  ttlSeconds: number;
  exclude: Set<string>;
}

/**
 * Validates the query. `ttl` defaults to the configured ICE_TTL_SECONDS and a client may only ask for a
 * shorter one (a longer request is capped, not refused). Throws a 400 problem naming the field.
 */
export function parseIceQuery(query: { room?: string; ttl?: string; exclude: readonly string[] }, configuredTtlSeconds: number): IceQuery {
  const parsed: IceQuery = { ttlSeconds: configuredTtlSeconds, exclude: new Set() };
  if (query.room !== undefined) {
    const problem = roomNameProblem(query.room);
    if (problem) throw new ProblemError(400, ErrorCode.invalidRoom, `room: ${problem}`, { field: "room" });
    parsed.room = query.room;
  }
  if (query.ttl !== undefined) {
    const ttl = /^\d{1,9}$/.test(query.ttl) ? Number(query.ttl) : Number.NaN;
    if (!(ttl >= MIN_ICE_TTL_SECONDS)) {
      throw new ProblemError(400, ErrorCode.badRequest, `ttl must be an integer number of seconds, at least ${MIN_ICE_TTL_SECONDS}`, {
        field: "ttl",
      });
    }
    parsed.ttlSeconds = Math.min(ttl, configuredTtlSeconds);
  }
  for (const value of query.exclude) {
    for (const raw of value.split(",")) {
      const id = raw.trim();
      if (id === "") continue;
      if (!NODE_ID.test(id)) {
        throw new ProblemError(400, ErrorCode.badRequest, "exclude must list node ids (letters, digits, '.', '_', '-')", {
          field: "exclude",
        });
      }
      parsed.exclude.add(id);
    }
  }
  if (parsed.exclude.size > MAX_EXCLUDED_NODES) {
    throw new ProblemError(400, ErrorCode.badRequest, `exclude lists more than ${MAX_EXCLUDED_NODES} nodes`, { field: "exclude" });
  }
  return parsed;
}
