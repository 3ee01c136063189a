import { EventEmitter } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { createCounters } from "./allocation/relay-context.ts";
import type { TurnEvents, TurnStats } from "./events.ts";
import { createMetrics, type OpsServer, type Readiness, startOpsServer } from "./metrics.ts";

function fakeServer() {
  const stats: TurnStats = { ...createCounters(), udpSendFailures: 0, draining: false };
  let statsCalls = 0;
  const server = Object.assign(new EventEmitter<TurnEvents>(), {
    stats: () => {
      statsCalls++;
      return { ...stats };
    },
  });
  return { server, stats, statsCalls: () => statsCalls };
}

/** Reads one sample's value from Prometheus text: `name{labels} value`. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

const servers: OpsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe("metrics", () => {
  it("reads gauges and traffic counters from stats() only when scraped", async () => {
    const { server, stats, statsCalls } = fakeServer();
    const metrics = createMetrics(server, { processMetrics: false, version: "1.2.3", nodeId: "turn-1" });
    expect(statsCalls()).toBe(0);
    Object.assign(stats, {
      allocations: 3,
      permissions: 5,
      channels: 4,
      packetsClientToPeer: 10,
      bytesClientToPeer: 1000,
      bytesPeerToClient: 500,
      droppedPackets: 2,
      udpSendFailures: 7,
    });
    let text = await metrics.registry.metrics();
    expect(statsCalls()).toBeGreaterThan(0);
    expect(sample(text, "turn_allocations")).toBe(3);
    expect(sample(text, "turn_permissions")).toBe(5);
    expect(sample(text, "turn_channels")).toBe(4);
    expect(sample(text, "turn_draining")).toBe(0);
    expect(sample(text, 'turn_relayed_packets_total{direction="client_to_peer"}')).toBe(10);
    expect(sample(text, 'turn_relayed_bytes_total{direction="client_to_peer"}')).toBe(1000);
    expect(sample(text, 'turn_relayed_bytes_total{direction="peer_to_client"}')).toBe(500);
    expect(sample(text, "turn_dropped_packets_total")).toBe(2);
    expect(sample(text, "turn_udp_send_failures_total")).toBe(7);
    expect(sample(text, 'turn_build_info{version="1.2.3",node="turn-1"}')).toBe(1);
    // Counters follow the core's totals across scrapes, never double counting.
    Object.assign(stats, { bytesClientToPeer: 1500, allocations: 1, draining: true });
    text = await metrics.registry.metrics();
    expect(sample(text, 'turn_relayed_bytes_total{direction="client_to_peer"}')).toBe(1500);
    expect(sample(text, "turn_allocations")).toBe(1);
    expect(sample(text, "turn_draining")).toBe(1);
    text = await metrics.registry.metrics();
    expect(sample(text, 'turn_relayed_bytes_total{direction="client_to_peer"}')).toBe(1500);
  });

  it("counts events by label", async () => {
    const { server } = fakeServer();
    const metrics = createMetrics(server, { processMetrics: false });
    const client = { address: "198.51.100.1", port: 1, transport: "tcp" as const };
    server.emit("allocation-created", { allocationId: "a", user: "u", client, relayAddress: "203.0.113.1", relayPort: 50000 });
    server.emit("auth-failure", { client, reason: "stale" });
    server.emit("auth-failure", { client: { ...client, transport: "udp" }, reason: "stale" });
    server.emit("peer-denied", { client, peerAddress: "127.0.0.1", code: 403 });
    server.emit("peer-denied", { client, peerAddress: "::1", code: 443 });
    server.emit("quota-refused", { client, user: "u", code: 486 });
    server.emit("internal-error", { where: "x", error: new Error("e") });
    server.emit("allocation-ended", {
      allocationId: "a",
      user: "u",
      username: "1:u",
      client,
      relayAddress: "203.0.113.1",
      relayPort: 50000,
      peers: 1,
      bytesFromClient: 1,
      bytesToClient: 1,
      packetsFromClient: 1,
      packetsToClient: 1,
      startedAt: 0,
      endedAt: 90_000,
      durationSeconds: 90,
      reason: "expired",
    });
    metrics.recordHeartbeat("ok");
    metrics.recordHeartbeat("error");
    metrics.recordHeartbeat("error");
    const text = await metrics.registry.metrics();
    expect(sample(text, 'turn_allocations_created_total{transport="tcp"}')).toBe(1);
    expect(sample(text, 'turn_allocations_created_total{transport="udp"}')).toBe(0);
    expect(sample(text, 'turn_auth_failures_total{transport="tcp"}')).toBe(1);
    expect(sample(text, 'turn_auth_failures_total{transport="udp"}')).toBe(1);
    expect(sample(text, 'turn_denied_peers_total{code="403"}')).toBe(1);
    expect(sample(text, 'turn_denied_peers_total{code="443"}')).toBe(1);
    expect(sample(text, 'turn_quota_refusals_total{code="486"}')).toBe(1);
    expect(sample(text, 'turn_quota_refusals_total{code="508"}')).toBe(0);
    expect(sample(text, "turn_internal_errors_total")).toBe(1);
    expect(sample(text, 'turn_allocations_ended_total{reason="expired"}')).toBe(1);
    expect(sample(text, 'turn_allocation_duration_seconds_bucket{le="300"}')).toBe(1);
    expect(sample(text, 'turn_allocation_duration_seconds_bucket{le="60"}')).toBe(0);
    expect(sample(text, 'turn_registry_heartbeats_total{result="ok"}')).toBe(1);
    expect(sample(text, 'turn_registry_heartbeats_total{result="error"}')).toBe(2);
    expect(sample(text, "turn_registry_last_success_timestamp_seconds")).toBeGreaterThan(1_700_000_000);
    metrics.detach();
    expect(server.listenerCount("auth-failure")).toBe(0);
  });

  it("includes Node process metrics by default", async () => {
    const { server } = fakeServer();
    const text = await createMetrics(server).registry.metrics();
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });
});

describe("operations HTTP server", () => {
  it("serves /metrics, /healthz and /readyz (503 while draining)", async () => {
    const { server } = fakeServer();
    const metrics = createMetrics(server, { processMetrics: false });
    let readiness: Readiness = { ready: false, status: "starting" };
    const ops = await startOpsServer({ address: "127.0.0.1", port: 0, registry: metrics.registry, readiness: () => readiness });
    servers.push(ops);
    const base = `http://127.0.0.1:${ops.port}`;

    const scrape = await fetch(`${base}/metrics`);
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get("content-type")).toMatch(/^text\/plain; version=0.0.4/);
    expect(await scrape.text()).toMatch(/^# HELP turn_allocations Live allocations$/m);

    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });

    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    readiness = { ready: true, status: "ready" };
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready" });
    readiness = { ready: false, status: "draining" };
    const draining = await fetch(`${base}/readyz`);
    expect(draining.status).toBe(503);
    expect(await draining.json()).toEqual({ status: "draining" });
    // /healthz stays 200 while draining: the process is alive and must not be restarted.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    expect((await fetch(`${base}/healthz?probe=1`)).status).toBe(200);
    const head = await fetch(`${base}/readyz`, { method: "HEAD" });
    expect(head.status).toBe(503);
    expect(await head.text()).toBe("");
    const missing = await fetch(`${base}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: "not_found" });
    const post = await fetch(`${base}/metrics`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  it("answers 404 on /metrics when metrics are off", async () => {
    const ops = await startOpsServer({
      address: "127.0.0.1",
      port: 0,
      registry: null,
      readiness: () => ({ ready: true, status: "ready" }),
    });
    servers.push(ops);
    expect((await fetch(`http://127.0.0.1:${ops.port}/metrics`)).status).toBe(404);
  });

  it("rejects with EADDRINUSE when the port is taken", async () => {
    const first = await startOpsServer({
      address: "127.0.0.1",
      port: 0,
      registry: null,
      readiness: () => ({ ready: true, status: "ready" }),
    });
    servers.push(first);
    await expect(
      startOpsServer({ address: "127.0.0.1", port: first.port, registry: null, readiness: () => ({ ready: true, status: "ready" }) }),
    ).rejects.toMatchObject({ code: "EADDRINUSE" });
  });
});
