/**
 * Who is asking for ICE config: an app API key (header only) or a room token for any room. Failed attempts
 * count against the caller's IP, and an IP out of attempts is refused before any check, so keys cannot be
 * guessed at the isolate's full speed.
 */
import type { Context } from "hono";
import { ErrorCode } from "../../protocol/errors.ts";
import type { Config } from "../config.ts";
import type { AppEnv } from "../env.ts";
import { RateLimiter } from "../ice/rate-limiter.ts";
import { ProblemError } from "../problem.ts";
import { matchApiKey } from "./api-key.ts";
import { bearerToken } from "./bearer.ts";
import { requireRoomToken } from "./room-token.ts";

/** Who asked: the user the credential is minted for, and the key their rate limit is kept under. */
export interface IceClient {
  user: string;
  rateKey: string;
  /** The room of the room token, used when the request names no `?room=`. */
  room?: string;
}

const limiters = new Map<string, RateLimiter>();

// One limiter per (rate, burst) setting in this isolate; see worker/ice/rate-limiter.ts for why per isolate.
/** The isolate's /v1/ice rate limiter for this config. */
export function limiterFor(config: Config): RateLimiter {
  const key = `${config.turn.iceRatePerMinute}/${config.turn.iceRateBurst}`;
  let limiter = limiters.get(key);
  if (!limiter) {
    limiter = new RateLimiter({ ratePerSecond: config.turn.iceRatePerMinute / 60, burst: config.turn.iceRateBurst });
    limiters.set(key, limiter);
  }
  return limiter;
}

/** A 429 `rate_limited` problem with Retry-After. */
export function rateLimited(retryAfterSeconds: number): ProblemError {
  return new ProblemError(
    429,
    ErrorCode.rateLimited,
    `too many /v1/ice requests; retry after ${retryAfterSeconds} s`,
    { retryAfter: retryAfterSeconds },
    { "retry-after": String(retryAfterSeconds) },
  );
}

/**
 * An API key (header only) or a room token for any room (header or `?token=`). Failed attempts count
 * against the caller's IP, and an IP out of attempts is refused before any check, so keys cannot be guessed
 * at the isolate's full speed.
 */
export async function authenticateIceClient(c: Context<AppEnv>, config: Config, limiter: RateLimiter, ip: string): Promise<IceClient> {
  const failureKey = `fail:${ip}`;
  const wait = limiter.peek(failureKey);
  if (wait > 0) throw rateLimited(wait);
  try {
    const presented = bearerToken(c, false);
    if (presented !== undefined && config.secrets.apiKeys.length > 0) {
      const label = await matchApiKey(config.secrets.apiKeys, presented);
      // Many end users may share one app key: their limit is per key and IP.
      if (label !== null) return { user: label, rateKey: `${label}|${ip}` };
    }
    const token = bearerToken(c);
    const looksLikeJwt = token !== undefined && token.split(".").length === 3;
    if (!looksLikeJwt || (config.secrets.roomTokenSecret === undefined && config.secrets.apiKeys.length > 0)) {
      throw new ProblemError(
        401,
        ErrorCode.unauthorized,
        "a valid API key or room token is required (Authorization: Bearer <key or token>)",
        {},
        { "www-authenticate": 'Bearer realm="switchboard"' },
      );
    }
    const claims = await requireRoomToken(c);
    return { user: claims.sub, rateKey: `sub:${claims.sub}`, room: claims.room };
  } catch (error) {
    if (error instanceof ProblemError && error.status === 401) limiter.take(failureKey);
    throw error;
  }
}
