/**
 * TURN node registry routes. Thin: authenticate, validate, hand off to the Registry Durable Object.
 * - `POST /v1/turn/nodes/heartbeat` (Bearer TURN_NODE_TOKEN): a node says it is alive, with its URLs and load.
 * - Operator API (Bearer ADMIN_TOKEN): `GET /v1/turn/nodes`, `POST /v1/turn/nodes/:id/drain`,
 *   `DELETE /v1/turn/nodes/:id`.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import { ErrorCode } from "../../protocol/errors.ts";
import { Heartbeat, type HeartbeatResponse } from "../../protocol/ice.ts";
import { requireBearerSecret } from "../auth/api-key.ts";
import { getConfig } from "../config.ts";
import type { AppEnv } from "../env.ts";
import { ProblemError } from "../problem.ts";
import { checkAdvertisedUrls } from "../registry/host-policy.ts";
import { registryStub } from "../registry/locate.ts";

/** Routes mounted at /v1/turn/nodes. */
export const turnNodeRoutes = new Hono<AppEnv>();

/** Largest heartbeat or admin body read, bytes (a heartbeat is a few hundred). */
const MAX_BODY_BYTES = 16 * 1024;
const NODE_ID = /^[A-Za-z0-9._-]{1,64}$/;
const DrainBody = z.object({ drain: z.boolean() }).strict();

/** Reads a JSON body of at most MAX_BODY_BYTES; `undefined` for an empty body. Throws 400/413 problems. */
async function readJson(c: Context<AppEnv>): Promise<unknown> {
  const declared = Number(c.req.header("content-length") ?? 0);
  const text = declared > MAX_BODY_BYTES ? "" : await c.req.text();
  if (declared > MAX_BODY_BYTES || new TextEncoder().encode(text).length > MAX_BODY_BYTES) {
    throw new ProblemError(413, ErrorCode.tooLarge, `the body is larger than ${MAX_BODY_BYTES} bytes`);
  }
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new ProblemError(400, ErrorCode.badJson, "the body is not valid JSON");
  }
}

/** A 400 problem naming the first invalid field of a zod error, with every issue listed. */
function invalidBody(error: z.ZodError): ProblemError {
  const issues = error.issues.slice(0, 10).map((issue) => ({
    field: issue.path.length > 0 ? issue.path.map(String).join(".") : "(body)",
    message: issue.message,
  }));
  const first = issues[0] ?? { field: "(body)", message: "invalid" };
  return new ProblemError(400, ErrorCode.badRequest, `${first.field}: ${first.message}`, { field: first.field, issues });
}

function nodeIdParam(c: Context<AppEnv>): string {
  const id = c.req.param("id") ?? "";
  if (!NODE_ID.test(id))
    throw new ProblemError(400, ErrorCode.badRequest, "node id must be 1–64 letters, digits, '.', '_' or '-'", { field: "id" });
  return id;
}

function unknownNode(id: string): ProblemError {
  return new ProblemError(404, ErrorCode.notFound, `no TURN node "${id}" is registered`, { id });
}

turnNodeRoutes.post("/heartbeat", async (c) => {
  const config = getConfig(c.env);
  requireBearerSecret(c, config.secrets.nodeTokens, "TURN_NODE_TOKEN");
  const parsed = Heartbeat.safeParse(await readJson(c));
  if (!parsed.success) throw invalidBody(parsed.error);
  const beat = parsed.data;

  const refusal = checkAdvertisedUrls(beat.urls, config.turn.nodeHosts);
  if (refusal?.reason === "malformed") {
    throw new ProblemError(
      400,
      ErrorCode.badRequest,
      `urls.${refusal.index}: not a stun:/turn: URL of the form scheme:host[:port][?transport=udp|tcp]`,
      {
        field: `urls.${refusal.index}`,
      },
    );
  }
  if (refusal?.reason === "host_not_allowed") {
    throw new ProblemError(
      403,
      ErrorCode.hostNotAllowed,
      `urls.${refusal.index}: ${refusal.url} names a host that TURN_NODE_HOSTS does not allow`,
      {
        field: `urls.${refusal.index}`,
        setting: "TURN_NODE_HOSTS",
      },
    );
  }

  const outcome = await registryStub(c.env).heartbeat(beat);
  if (!outcome.ok) throw new ProblemError(outcome.status, outcome.code, outcome.message, outcome.field ? { field: outcome.field } : {});
  const answer: HeartbeatResponse = {
    ok: true,
    ttlSeconds: outcome.ttlSeconds,
    drain: outcome.drain,
    heartbeatIntervalSeconds: Math.max(1, Math.floor(outcome.ttlSeconds / 3)),
  };
  return c.json(answer, 200, { "cache-control": "no-store" });
});

turnNodeRoutes.get("/", async (c) => {
  const config = getConfig(c.env);
  requireBearerSecret(c, config.secrets.adminTokens, "ADMIN_TOKEN");
  const nodes = await registryStub(c.env).list();
  return c.json({ ttlSeconds: config.turn.nodeTtlSeconds, nodes }, 200, { "cache-control": "no-store" });
});

turnNodeRoutes.post("/:id/drain", async (c) => {
  const config = getConfig(c.env);
  requireBearerSecret(c, config.secrets.adminTokens, "ADMIN_TOKEN");
  const id = nodeIdParam(c);
  const body = await readJson(c);
  let drain = true;
  if (body !== undefined) {
    const parsed = DrainBody.safeParse(body);
    if (!parsed.success) throw invalidBody(parsed.error);
    drain = parsed.data.drain;
  }
  const node = await registryStub(c.env).setDrain(id, drain);
  if (!node) throw unknownNode(id);
  return c.json(node, 200, { "cache-control": "no-store" });
});

turnNodeRoutes.delete("/:id", async (c) => {
  const config = getConfig(c.env);
  requireBearerSecret(c, config.secrets.adminTokens, "ADMIN_TOKEN");
  const id = nodeIdParam(c);
  if (!(await registryStub(c.env).remove(id))) throw unknownNode(id);
  return c.json({ id, deleted: true }, 200, { "cache-control": "no-store" });
});
