import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { Heartbeat } from "../../protocol/ice.ts";
import type { TurnStats } from "./events.ts";
import type { Logger } from "./handlers.ts";
import { createRegistryClient, iceUrls, loadMeter, type RegistryClient } from "./registry-client.ts";

interface Received {
  method: string;
  url: string;
  authorization: string | undefined;
  body: unknown;
}

/** A real registry stand-in on loopback: records requests, answers with `reply`. */
async function registryServer(reply: (request: Received, response: ServerResponse) => void) {
  const received: Received[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const server: Server = createServer((request: IncomingMessage, response) => {
    let text = "";
    request.on("data", (chunk) => {
      text += chunk;
    });
    request.on("end", () => {
      const entry = {
        method: request.method ?? "",
        url: request.url ?? "",
        authorization: request.headers.authorization,
        body: JSON.parse(text || "null"),
      };
      received.push(entry);
      for (const waiter of waiters.filter((candidate) => received.length >= candidate.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
      reply(entry, response);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    /** Resolves once `count` requests have arrived (bounded by the test timeout). */
    waitFor: (count: number) =>
      received.length >= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count, resolve })),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function recordingLogger() {
  const lines: Array<{ level: string; fields: Record<string, unknown>; message: string | undefined }> = [];
  const at =
    (level: string) =>
    (fields: object, message?: string): void => {
      lines.push({ level, fields: fields as Record<string, unknown>, message });
    };
  const logger: Logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
  return { logger, lines };
}

const body = (draining = false): Heartbeat => ({
  id: "turn-1",
  region: "eu-west",
  urls: ["turn:203.0.113.7:3478?transport=udp", "turn:203.0.113.7:3478?transport=tcp"],
  capacity: 1000,
  load: { allocations: 2, bps: 8000 },
  draining,
});

const answer = (response: ServerResponse, status: number, value: object) => {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(value));
};

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function track<T extends { close(): Promise<void> }>(server: T): T {
  cleanups.push(() => server.close());
  return server;
}
function trackClient(client: RegistryClient): RegistryClient {
  cleanups.push(() => client.stop());
  return client;
}

describe("registry client", () => {
  it("posts a valid heartbeat with the bearer token, every interval", async () => {
    const registry = track(await registryServer((_request, response) => answer(response, 200, { ok: true, ttlSeconds: 15 })));
    const results: string[] = [];
    const { logger, lines } = recordingLogger();
    const client = trackClient(
      createRegistryClient({
        url: `${registry.url}/`,
        token: "node-token-1",
        heartbeat: () => body(),
        intervalSeconds: 0.05,
        logger,
        onResult: (result) => results.push(result),
      }),
    );
    client.start();
    await registry.waitFor(3);
    expect(registry.received[0]).toEqual({
      method: "POST",
      url: "/v1/turn/nodes/heartbeat",
      authorization: "Bearer node-token-1",
      body: { ...body(), sentAt: expect.any(Number) },
    });
    const sentAt = registry.received.map((request) => (request.body as Heartbeat).sentAt!);
    expect(sentAt[1]).toBeGreaterThanOrEqual(sentAt[0]!);
    expect(Math.abs(sentAt[0]! - Date.now())).toBeLessThan(10_000);
    expect(results.slice(0, 2)).toEqual(["ok", "ok"]);
    expect(lines.filter((line) => line.level !== "debug")).toEqual([]);
  });

  it("refuses to send a body the registry would reject, and says which field", async () => {
    const registry = track(await registryServer((_request, response) => answer(response, 200, { ok: true, ttlSeconds: 15 })));
    const { logger, lines } = recordingLogger();
    const results: string[] = [];
    const client = trackClient(
      createRegistryClient({
        url: registry.url,
        token: "t",
        heartbeat: () => ({ ...body(), id: "bad id!" }),
        intervalSeconds: 60,
        logger,
        onResult: (result) => results.push(result),
      }),
    );
    client.start();
    await expect.poll(() => results.length).toBe(1);
    expect(results).toEqual(["error"]);
    expect(registry.received).toEqual([]);
    expect(lines[0]?.message).toMatch(/heartbeat body is invalid \(id: id must be 1–64 letters/);
  });

  it("backs off on failure, logs one line per kind of failure, and logs recovery", async () => {
    let failing = true;
    const registry = track(
      await registryServer((_request, response) =>
        failing ? answer(response, 503, { type: "about:blank", title: "down" }) : answer(response, 200, { ok: true, ttlSeconds: 15 }),
      ),
    );
    const { logger, lines } = recordingLogger();
    const client = trackClient(
      createRegistryClient({
        url: registry.url,
        token: "t",
        heartbeat: () => body(),
        intervalSeconds: 0.02,
        maxBackoffSeconds: 0.1,
        logger,
        random: () => 1,
      }),
    );
    const started = Date.now();
    client.start();
    await registry.waitFor(5);
    // Delays with random()=1: 20, 40, 80, 100 ms → at least 240 ms for five attempts.
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(client.failures).toBeGreaterThanOrEqual(4);
    const warnings = lines.filter((line) => line.level === "warn");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toBe("heartbeat to the registry failed: the registry answered 503");
    expect(warnings[0]!.fields.answer).toMatch(/down/);
    failing = false;
    await expect.poll(() => client.failures, { timeout: 5000 }).toBe(0);
    expect(lines.find((line) => line.fields.event === "heartbeat-recovered")?.level).toBe("info");
  });

  it("explains a refused token without printing it", async () => {
    const registry = track(await registryServer((_request, response) => answer(response, 401, { code: "unauthorized" })));
    const { logger, lines } = recordingLogger();
    const client = trackClient(
      createRegistryClient({ url: registry.url, token: "s3cret-token", heartbeat: () => body(), intervalSeconds: 60, logger }),
    );
    client.start();
    await expect.poll(() => lines.length).toBe(1);
    expect(lines[0]!.message).toMatch(
      /refused the node token \(401\): --node-token\/TURN_NODE_TOKEN must equal the worker's TURN_NODE_TOKEN/,
    );
    expect(JSON.stringify(lines)).not.toContain("s3cret-token");
  });

  it("reports an unreachable registry once, naming the cause", async () => {
    const registry = await registryServer(() => {});
    await registry.close(); // nothing listens there now
    const { logger, lines } = recordingLogger();
    const client = trackClient(
      createRegistryClient({
        url: registry.url,
        token: "t",
        heartbeat: () => body(),
        intervalSeconds: 0.01,
        maxBackoffSeconds: 0.02,
        logger,
      }),
    );
    client.start();
    await expect.poll(() => client.failures, { timeout: 5000 }).toBeGreaterThanOrEqual(5);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.message).toMatch(/ECONNREFUSED/);
  });

  it("follows the registry's heartbeatIntervalSeconds when it asks for more frequent heartbeats", async () => {
    const registry = track(
      await registryServer((_request, response) => answer(response, 200, { ok: true, ttlSeconds: 0.15, heartbeatIntervalSeconds: 0.05 })),
    );
    const { logger, lines } = recordingLogger();
    const client = trackClient(
      createRegistryClient({ url: registry.url, token: "t", heartbeat: () => body(), intervalSeconds: 60, logger }),
    );
    client.start();
    // With the configured 60 s the third heartbeat would take two minutes; at 0.05 s it comes at once.
    await registry.waitFor(3);
    expect(lines.filter((line) => line.fields.event === "heartbeat-interval-adopted")).toHaveLength(1);
  });

  it("starts draining when the registry answers drain: true", async () => {
    const registry = track(await registryServer((_request, response) => answer(response, 200, { ok: true, ttlSeconds: 15, drain: true })));
    const { logger } = recordingLogger();
    let drainRequests = 0;
    const client = trackClient(
      createRegistryClient({
        url: registry.url,
        token: "t",
        heartbeat: () => body(),
        intervalSeconds: 60,
        logger,
        onDrainRequested: () => drainRequests++,
      }),
    );
    client.start();
    await expect.poll(() => drainRequests).toBe(1);
  });

  it("sendNow reports a change at once instead of waiting for the interval", async () => {
    const registry = track(await registryServer((_request, response) => answer(response, 200, { ok: true, ttlSeconds: 15 })));
    const { logger } = recordingLogger();
    let draining = false;
    const client = trackClient(
      createRegistryClient({ url: registry.url, token: "t", heartbeat: () => body(draining), intervalSeconds: 60, logger }),
    );
    client.start();
    await registry.waitFor(1);
    draining = true;
    client.sendNow();
    await registry.waitFor(2);
    expect((registry.received[1]!.body as Heartbeat).draining).toBe(true);
  });

  it("sendNow during a request in flight sends again right after it", async () => {
    let hold: ServerResponse | undefined;
    const registry = track(
      await registryServer((_request, response) => {
        if (!hold && registryCalls() === 1) hold = response;
        else answer(response, 200, { ok: true, ttlSeconds: 15 });
      }),
    );
    const registryCalls = () => registry.received.length;
    const { logger } = recordingLogger();
    let draining = false;
    const client = trackClient(
      createRegistryClient({ url: registry.url, token: "t", heartbeat: () => body(draining), intervalSeconds: 60, logger }),
    );
    client.start();
    await registry.waitFor(1);
    draining = true;
    client.sendNow();
    answer(hold!, 200, { ok: true, ttlSeconds: 15 });
    await registry.waitFor(2);
    expect((registry.received[1]!.body as Heartbeat).draining).toBe(true);
  });

  it("stop() aborts a request in flight and sends nothing more", async () => {
    const registry = track(await registryServer(() => {})); // never answers
    const { logger, lines } = recordingLogger();
    const client = createRegistryClient({ url: registry.url, token: "t", heartbeat: () => body(), intervalSeconds: 0.01, logger });
    client.start();
    await registry.waitFor(1);
    await client.stop();
    expect(lines).toEqual([]);
    client.sendNow();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(registry.received).toHaveLength(1);
  });
});

describe("iceUrls", () => {
  const listeners = [
    { transport: "udp" as const, address: "0.0.0.0", port: 3478 },
    { transport: "tcp" as const, address: "0.0.0.0", port: 3478 },
    { transport: "tls" as const, address: "0.0.0.0", port: 5349 },
    { transport: "udp" as const, address: "::", port: 3478 },
  ];

  it("builds turn: and turns: URLs with the public host", () => {
    expect(iceUrls("turn.example.com", listeners)).toEqual([
      "turn:turn.example.com:3478?transport=udp",
      "turn:turn.example.com:3478?transport=tcp",
      "turns:turn.example.com:5349?transport=tcp",
    ]);
  });

  it("puts IPv6 literals in brackets", () => {
    expect(iceUrls("2001:db8::7", listeners.slice(0, 2))).toEqual([
      "turn:[2001:db8::7]:3478?transport=udp",
      "turn:[2001:db8::7]:3478?transport=tcp",
    ]);
    expect(iceUrls("[2001:db8::7]", listeners.slice(0, 1))).toEqual(["turn:[2001:db8::7]:3478?transport=udp"]);
  });

  it("uses the bound ports", () => {
    expect(iceUrls("127.0.0.1", [{ transport: "udp", address: "127.0.0.1", port: 41234 }])).toEqual(["turn:127.0.0.1:41234?transport=udp"]);
  });
});

describe("loadMeter", () => {
  it("reports allocations and relayed bits per second since the last call", () => {
    const stats = { allocations: 4, bytesClientToPeer: 0, bytesPeerToClient: 0 } as TurnStats;
    let now = 0;
    const meter = loadMeter(
      () => stats,
      () => now,
    );
    expect(meter()).toEqual({ allocations: 4, bps: 0 });
    now = 2000;
    stats.bytesClientToPeer = 1000;
    stats.bytesPeerToClient = 1500;
    expect(meter()).toEqual({ allocations: 4, bps: 10_000 });
  });
});
