import { createExecutionContext, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Heartbeat, HeartbeatResponse, IceConfigResponse } from "../../protocol/ice.ts";
import { createApp } from "../app.ts";
import type { Env } from "../env.ts";
import { registryStub } from "../registry/locate.ts";
import type { Registry } from "../registry/registry.ts";
import type { NodeStatus } from "../registry/snapshot.ts";
import { heartbeat, isolatedEnv, testEnv, uniqueNodeId } from "../registry/testing.ts";

const app = createApp();
const NODE_TOKEN = testEnv.TURN_NODE_TOKEN!;
const ADMIN_TOKEN = testEnv.ADMIN_TOKEN!;
const API_KEY = testEnv.API_KEYS!.split(",")[0]!;

async function call(bindings: Env, path: string, init: RequestInit = {}): Promise<Response> {
  return app.request(new Request(`https://switchboard.test${path}`, init), undefined, bindings, createExecutionContext());
}

function sendHeartbeat(bindings: Env, body: unknown, token = NODE_TOKEN): Promise<Response> {
  return call(bindings, "/v1/turn/nodes/heartbeat", {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

function admin(bindings: Env, path: string, method = "GET", body?: unknown): Promise<Response> {
  return call(bindings, path, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function listNodes(bindings: Env): Promise<NodeStatus[]> {
  const response = await admin(bindings, "/v1/turn/nodes");
  expect(response.status).toBe(200);
  return ((await response.json()) as { nodes: NodeStatus[] }).nodes;
}

async function problem(response: Response): Promise<{ code: string; field?: string; detail: string; status: number }> {
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  return (await response.json()) as { code: string; field?: string; detail: string; status: number };
}

// TURN_NODE_HOSTS may come from a developer's .dev.vars: every test states its own.
const anyHost = { TURN_NODE_HOSTS: "" };

describe("POST /v1/turn/nodes/heartbeat", () => {
  it("registers a node, which the operator API lists as live", async () => {
    const bindings = isolatedEnv(anyHost);
    const id = uniqueNodeId();
    const response = await sendHeartbeat(bindings, heartbeat(id, { load: { allocations: 250, bps: 4e6 } }));
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect((await response.json()) as HeartbeatResponse).toEqual({ ok: true, ttlSeconds: 15, drain: false, heartbeatIntervalSeconds: 5 });
    expect(await listNodes(bindings)).toEqual([
      expect.objectContaining({ id, health: "live", live: true, draining: false, load: { allocations: 250, bps: 4e6, ratio: 0.25 } }),
    ]);
  });

  it("refuses a forged, missing or wrong-kind token with 401", async () => {
    const bindings = isolatedEnv(anyHost);
    const id = uniqueNodeId();
    for (const token of ["forged-token", ADMIN_TOKEN, API_KEY, `${NODE_TOKEN}x`]) {
      const response = await sendHeartbeat(bindings, heartbeat(id), token);
      expect(response.status).toBe(401);
      expect((await problem(response)).code).toBe("unauthorized");
    }
    const unauthenticated = await call(bindings, "/v1/turn/nodes/heartbeat", { method: "POST", body: JSON.stringify(heartbeat(id)) });
    expect(unauthenticated.status).toBe(401);
    expect(await listNodes(bindings)).toEqual([]);
  });

  it("accepts every token of a TURN_NODE_TOKEN / ADMIN_TOKEN list, so both rotate without a gap", async () => {
    const bindings = isolatedEnv({ ...anyHost, TURN_NODE_TOKEN: "old-node-token,new-node-token", ADMIN_TOKEN: "old-admin,new-admin" });
    const [first, second] = [uniqueNodeId(), uniqueNodeId()];
    expect((await sendHeartbeat(bindings, heartbeat(first), "old-node-token")).status).toBe(200);
    expect((await sendHeartbeat(bindings, heartbeat(second), "new-node-token")).status).toBe(200);
    expect((await sendHeartbeat(bindings, heartbeat(second), "old-node-token,new-node-token")).status).toBe(401);
    for (const token of ["old-admin", "new-admin"]) {
      const response = await call(bindings, "/v1/turn/nodes", { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(200);
    }
  });

  it("refuses malformed heartbeats with 400 naming the field", async () => {
    const bindings = isolatedEnv(anyHost);
    const id = uniqueNodeId();
    const cases: [unknown, string][] = [
      [{ ...heartbeat(id), region: undefined }, "region"],
      [{ ...heartbeat(id), id: "bad id!" }, "id"],
      [{ ...heartbeat(id), urls: ["turn:ok.test:3478", "http://not-ice.test"] }, "urls.1"],
      [{ ...heartbeat(id), urls: [] }, "urls"],
      [{ ...heartbeat(id), capacity: -5 }, "capacity"],
      [{ ...heartbeat(id), load: { allocations: 1.5, bps: 0 } }, "load.allocations"],
      [{ ...heartbeat(id), location: { lat: 95, lon: 0 } }, "location.lat"],
      // Passes the schema's scheme check but is not an RFC 7065 URL.
      [{ ...heartbeat(id), urls: ["turn:host.test:99999"] }, "urls.0"],
    ];
    for (const [body, field] of cases) {
      const response = await sendHeartbeat(bindings, body);
      expect(response.status, field).toBe(400);
      const refusal = await problem(response);
      expect(refusal, field).toMatchObject({ code: "bad_request", field });
      expect(refusal.detail.startsWith(`${field}:`)).toBe(true);
    }
    const notJson = await sendHeartbeat(bindings, "{nope");
    expect(notJson.status).toBe(400);
    expect((await problem(notJson)).code).toBe("bad_json");
    const tooLarge = await sendHeartbeat(bindings, { ...heartbeat(id), padding: "x".repeat(20_000) });
    expect(tooLarge.status).toBe(413);
    expect(await listNodes(bindings)).toEqual([]);
  });

  it("refuses stale heartbeats: clock far off (400) or out of order (409)", async () => {
    const bindings = isolatedEnv(anyHost);
    const id = uniqueNodeId();
    const old = await sendHeartbeat(bindings, heartbeat(id, { sentAt: Date.now() - 60_000 }));
    expect(old.status).toBe(400);
    expect(await problem(old)).toMatchObject({ code: "stale_heartbeat", field: "sentAt" });

    const sentAt = Date.now();
    expect((await sendHeartbeat(bindings, heartbeat(id, { sentAt }))).status).toBe(200);
    const replayed = await sendHeartbeat(bindings, heartbeat(id, { sentAt }));
    expect(replayed.status).toBe(409);
    expect((await problem(replayed)).code).toBe("stale_heartbeat");
    expect((await sendHeartbeat(bindings, heartbeat(id, { sentAt: sentAt + 1 }))).status).toBe(200);
  });

  it("refuses hosts outside TURN_NODE_HOSTS with 403 host_not_allowed", async () => {
    const bindings = isolatedEnv({ TURN_NODE_HOSTS: "*.turn.test,203.0.113.7" });
    const id = uniqueNodeId();
    expect((await sendHeartbeat(bindings, heartbeat(id))).status).toBe(200);
    expect((await sendHeartbeat(bindings, heartbeat(id, { urls: ["turn:203.0.113.7:3478"] }))).status).toBe(200);

    const hijack: Heartbeat = heartbeat(uniqueNodeId(), { urls: ["turn:ok.turn.test:3478", "turn:attacker.example:3478"] });
    const response = await sendHeartbeat(bindings, hijack);
    expect(response.status).toBe(403);
    expect(await problem(response)).toMatchObject({ code: "host_not_allowed", field: "urls.1", setting: "TURN_NODE_HOSTS" });
    expect((await listNodes(bindings)).map((node) => node.id)).toEqual([id]);
  });
});

describe("operator API", () => {
  it("needs ADMIN_TOKEN on every route", async () => {
    const bindings = isolatedEnv(anyHost);
    const attempts: [string, string][] = [
      ["/v1/turn/nodes", "GET"],
      ["/v1/turn/nodes/some-node/drain", "POST"],
      ["/v1/turn/nodes/some-node", "DELETE"],
    ];
    for (const [path, method] of attempts) {
      for (const headers of [{}, { authorization: `Bearer ${NODE_TOKEN}` }] as Record<string, string>[]) {
        const response = await call(bindings, path, { method, headers });
        expect(response.status, `${method} ${path}`).toBe(401);
        expect((await problem(response)).code).toBe("unauthorized");
      }
    }
  });

  it("drains a node: the next heartbeat answers drain, and /v1/ice stops handing it out", async () => {
    const bindings = isolatedEnv({ ...anyHost, STUN_URLS: "stun:stun.test:3478" });
    const id = uniqueNodeId();
    await sendHeartbeat(bindings, heartbeat(id));
    const ice = () =>
      call(bindings, "/v1/ice", {
        headers: { authorization: `Bearer ${API_KEY}`, "cf-connecting-ip": `192.0.2.${Math.floor(Math.random() * 250)}` },
      });
    expect(((await (await ice()).json()) as IceConfigResponse).nodeId).toBe(id);

    const drained = await admin(bindings, `/v1/turn/nodes/${id}/drain`, "POST");
    expect(drained.status).toBe(200);
    expect(await drained.json()).toMatchObject({ id, drainRequested: true, health: "draining" });
    expect(((await (await sendHeartbeat(bindings, heartbeat(id))).json()) as HeartbeatResponse).drain).toBe(true);
    const answer = (await (await ice()).json()) as IceConfigResponse;
    expect(answer.nodeId).toBeUndefined();
    expect(answer.warnings).toEqual(["no_turn_nodes"]);

    // {"drain": false} lifts the request.
    const undrained = await admin(bindings, `/v1/turn/nodes/${id}/drain`, "POST", { drain: false });
    expect(await undrained.json()).toMatchObject({ drainRequested: false, health: "live" });
    expect(((await (await sendHeartbeat(bindings, heartbeat(id))).json()) as HeartbeatResponse).drain).toBe(false);
    expect(((await (await ice()).json()) as IceConfigResponse).nodeId).toBe(id);

    expect((await admin(bindings, `/v1/turn/nodes/${uniqueNodeId("missing")}/drain`, "POST")).status).toBe(404);
    expect((await admin(bindings, `/v1/turn/nodes/${id}/drain`, "POST", { drain: "yes" })).status).toBe(400);
  });

  it("deletes a node", async () => {
    const bindings = isolatedEnv(anyHost);
    const id = uniqueNodeId();
    await sendHeartbeat(bindings, heartbeat(id));
    const deleted = await admin(bindings, `/v1/turn/nodes/${id}`, "DELETE");
    expect(deleted.status).toBe(200);
    expect(await deleted.json()).toEqual({ id, deleted: true });
    expect(await listNodes(bindings)).toEqual([]);
    const again = await admin(bindings, `/v1/turn/nodes/${id}`, "DELETE");
    expect(again.status).toBe(404);
    expect((await problem(again)).code).toBe("not_found");
    expect((await admin(bindings, "/v1/turn/nodes/bad%20id", "DELETE")).status).toBe(400);
  });

  it("shows a silent node as down once its TTL has passed, and /v1/ice leaves it out", async () => {
    const bindings = isolatedEnv({ ...anyHost, STUN_URLS: "stun:stun.test:3478" });
    const id = uniqueNodeId();
    await sendHeartbeat(bindings, heartbeat(id));
    const later = Date.now() + 16_000;
    await runInDurableObject(registryStub(bindings), (instance: Registry) => {
      instance.clock = () => later;
    });
    expect(await listNodes(bindings)).toEqual([expect.objectContaining({ id, health: "down", live: false })]);
    const answer = (await (
      await call(bindings, "/v1/ice", { headers: { authorization: `Bearer ${API_KEY}`, "cf-connecting-ip": "192.0.2.77" } })
    ).json()) as IceConfigResponse;
    expect(answer.warnings).toEqual(["no_turn_nodes"]);
  });
});

describe("mounted on the worker", () => {
  it("takes heartbeats and lists nodes through the deployed routes", async () => {
    const id = uniqueNodeId("self");
    // 127.0.0.1 passes both an empty TURN_NODE_HOSTS and the development .dev.vars list.
    const beat = heartbeat(id, { urls: ["turn:127.0.0.1:3478?transport=udp"] });
    const response = await SELF.fetch("https://switchboard.test/v1/turn/nodes/heartbeat", {
      method: "POST",
      headers: { authorization: `Bearer ${NODE_TOKEN}` },
      body: JSON.stringify(beat),
    });
    expect(response.status).toBe(200);
    const list = await SELF.fetch("https://switchboard.test/v1/turn/nodes", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(((await list.json()) as { nodes: NodeStatus[] }).nodes.map((node) => node.id)).toContain(id);
    const deleted = await SELF.fetch(`https://switchboard.test/v1/turn/nodes/${id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(deleted.status).toBe(200);
  });
});
