/**
 * The worker's Hono app: routes authenticate, validate and hand off to Durable Objects. No business
 * rule lives here. Every refusal is problem JSON with a code; no stack trace ever reaches a client.
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { ErrorCode } from "../protocol/errors.ts";
import { getConfig } from "./config.ts";
import type { AppEnv } from "./env.ts";
import { ProblemError, problemResponse } from "./problem.ts";
import { devRoutes } from "./routes/dev.ts";
import { iceRoutes } from "./routes/ice.ts";
import { roomRoutes } from "./routes/rooms.ts";
import { turnNodeRoutes } from "./routes/turn-nodes.ts";

/** Builds the worker's HTTP app. */
export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  // CORS: only origins listed in CORS_ORIGINS (comma list; "*" allows any). Nothing is open by default.
  app.use("/v1/*", async (c, next) => {
    const { corsOrigins } = getConfig(c.env);
    if (corsOrigins.length === 0) return next();
    const allowAny = corsOrigins.includes("*");
    return cors({
      origin: (origin) => (allowAny || corsOrigins.includes(origin) ? origin : null),
      allowHeaders: ["Authorization", "Content-Type"],
      allowMethods: ["GET", "POST", "DELETE", "OPTIONS"],
      maxAge: 600,
    })(c, next);
  });

  app.get("/healthz", (c) => c.json({ ok: true }));
  app.route("/v1/rooms", roomRoutes);
  app.route("/v1/ice", iceRoutes);
  app.route("/v1/turn/nodes", turnNodeRoutes);
  app.route("/dev", devRoutes);

  app.notFound((c) => problemResponse(404, ErrorCode.notFound, `no route for ${c.req.method} ${new URL(c.req.url).pathname}`));

  app.onError((error, c) => {
    if (error instanceof ProblemError) return error.getResponse();
    if (error instanceof HTTPException) {
      return problemResponse(error.status, error.status >= 500 ? ErrorCode.internal : ErrorCode.badRequest, error.message);
    }
    console.error(JSON.stringify({ level: "error", msg: "unhandled error", path: new URL(c.req.url).pathname, error: String(error) }));
    return problemResponse(500, ErrorCode.internal, "internal error");
  });

  return app;
}
