/**
 * `GET /v1/ice`: ICE servers with short-lived TURN REST credentials. Thin: authenticate (room token or API
 * key), rate-limit, validate the query, hand off to worker/ice/ice-config.ts. Answers are never cached.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { ErrorCode } from "../../protocol/errors.ts";
import { authenticateIceClient, limiterFor, rateLimited } from "../auth/ice-client.ts";
import { getConfig } from "../config.ts";
import type { AppEnv } from "../env.ts";
import type { CfLocationFields } from "../ice/geo.ts";
import { resolveIceConfig } from "../ice/ice-config.ts";
import { parseIceQuery } from "../ice/ice-query.ts";
import { ProblemError } from "../problem.ts";

/** Routes mounted at /v1/ice. */
export const iceRoutes = new Hono<AppEnv>();

iceRoutes.get("/", async (c) => {
  const config = getConfig(c.env);
  const limiter = limiterFor(config);
  const ip = c.req.header("cf-connecting-ip") ?? "unknown";
  const client = await authenticateIceClient(c, config, limiter, ip);
  const wait = limiter.take(client.rateKey);
  if (wait > 0) throw rateLimited(wait);

  const query = parseIceQuery(
    { room: c.req.query("room") ?? client.room, ttl: c.req.query("ttl"), exclude: c.req.queries("exclude") ?? [] },
    config.turn.iceTtlSeconds,
  );
  const result = await resolveIceConfig(
    {
      env: c.env,
      config,
      host: new URL(c.req.url).hostname,
      cf: c.req.raw.cf as CfLocationFields | undefined,
      waitUntil: waitUntilOf(c),
      user: client.user,
    },
    query,
  );
  if (!result.ok) {
    throw new ProblemError(
      503,
      ErrorCode.noTurnNodes,
      "no TURN node is live and neither TURN_STATIC_URLS nor STUN_URLS is set: there is no ICE server to hand out",
      { settings: ["TURN_STATIC_URLS", "STUN_URLS"] },
      { "retry-after": String(config.turn.nodeTtlSeconds) },
    );
  }
  return c.json(result.answer, 200, { "cache-control": "no-store" });
});

// Hono throws when a request has no ExecutionContext (app.request in tests); then the write simply runs unawaited.
function waitUntilOf(c: Context<AppEnv>): (promise: Promise<unknown>) => void {
  try {
    const context = c.executionCtx;
    return (promise) => context.waitUntil(promise);
  } catch {
    return (promise) => {
      promise.catch(() => {});
    };
  }
}
