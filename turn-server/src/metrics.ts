/**
 * Prometheus metrics (prom-client) and the operations HTTP server: `/metrics`, `/healthz` (200 while
 * the process runs), `/readyz` (200 when listening and not draining, else 503).
 * Nothing here runs per packet: gauges and traffic counters read `server.stats()` when scraped
 * (collect callbacks), and the low-rate events (allocations, auth failures, denied peers, quota
 * refusals) increment labelled counters.
 */
import type { EventEmitter } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { TurnEvents, TurnStats } from "./events.ts";

/** What metrics read from the core: its events and its counters. */
export type MetricsSource = EventEmitter<TurnEvents> & { stats(): TurnStats };

/** The relay's metrics. */
export interface TurnMetrics {
  registry: Registry;
  /** Counts one heartbeat attempt to the worker's registry. */
  recordHeartbeat(result: "ok" | "error"): void;
  /** Stops listening to the server's events. */
  detach(): void;
}

/** Options of createMetrics. */
export interface MetricsOptions {
  /** Version and node id, exported as `turn_build_info`. */
  version?: string;
  nodeId?: string;
  /** Also export Node's process metrics (CPU, memory, event-loop lag, GC). Default true. */
  processMetrics?: boolean;
}

/**
 * Creates the registry. Metric names: `turn_allocations`, `turn_permissions`, `turn_channels`,
 * `turn_draining` (gauges); `turn_relayed_packets_total` and `turn_relayed_bytes_total` by
 * `direction`, `turn_dropped_packets_total`; `turn_allocations_created_total` by `transport`,
 * `turn_allocations_ended_total` by `reason`, `turn_auth_failures_total` by `transport`,
 * `turn_denied_peers_total` by `code`, `turn_quota_refusals_total` by `code`,
 * `turn_internal_errors_total`, `turn_allocation_duration_seconds` (histogram),
 * `turn_registry_heartbeats_total` by `result`, `turn_registry_last_success_timestamp_seconds`,
 * `turn_build_info`; plus the `process_*`/`nodejs_*` defaults.
 */
export function createMetrics(server: MetricsSource, options: MetricsOptions = {}): TurnMetrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });

  const gauge = (name: string, help: string, read: (stats: TurnStats) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read(server.stats()));
      },
    });
  gauge("turn_allocations", "Live allocations", (stats) => stats.allocations);
  gauge("turn_permissions", "Live permissions over all allocations", (stats) => stats.permissions);
  gauge("turn_channels", "Live channel bindings over all allocations", (stats) => stats.channels);
  gauge("turn_draining", "1 while draining (refusing new allocations), else 0", (stats) => (stats.draining ? 1 : 0));

  /** A counter mirrored from the core's monotonic totals: increments by the change since the last scrape. */
  const mirroredCounter = (name: string, help: string, labelled: Array<[Record<string, string>, (stats: TurnStats) => number]>) => {
    const last = labelled.map(() => 0);
    return new Counter({
      name,
      help,
      labelNames: Object.keys(labelled[0]?.[0] ?? {}),
      registers: [registry],
      collect() {
        const stats = server.stats();
        labelled.forEach(([labels, read], index) => {
          const value = read(stats);
          const delta = value - last[index]!;
          if (delta > 0) this.inc(labels, delta);
          last[index] = value;
        });
      },
    });
  };
  mirroredCounter("turn_relayed_packets_total", "Packets relayed, by direction", [
    [{ direction: "client_to_peer" }, (stats) => stats.packetsClientToPeer],
    [{ direction: "peer_to_client" }, (stats) => stats.packetsPeerToClient],
  ]);
  mirroredCounter("turn_relayed_bytes_total", "Payload bytes relayed, by direction", [
    [{ direction: "client_to_peer" }, (stats) => stats.bytesClientToPeer],
    [{ direction: "peer_to_client" }, (stats) => stats.bytesPeerToClient],
  ]);
  mirroredCounter("turn_dropped_packets_total", "Packets dropped: malformed, no permission or over the bandwidth cap", [
    [{}, (stats) => stats.droppedPackets],
  ]);
  mirroredCounter("turn_udp_send_failures_total", "UDP datagrams the kernel refused to send (native UDP path)", [
    [{}, (stats) => stats.udpSendFailures],
  ]);

  const allocationsCreated = new Counter({
    name: "turn_allocations_created_total",
    help: "Allocations created, by client transport",
    labelNames: ["transport"],
    registers: [registry],
  });
  const allocationsEnded = new Counter({
    name: "turn_allocations_ended_total",
    help: "Allocations ended, by reason",
    labelNames: ["reason"],
    registers: [registry],
  });
  const allocationDuration = new Histogram({
    name: "turn_allocation_duration_seconds",
    help: "Lifetime of ended allocations",
    buckets: [10, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400],
    registers: [registry],
  });
  const authFailures = new Counter({
    name: "turn_auth_failures_total",
    help: "Requests refused with 401 (bad, expired or unknown credentials), by client transport",
    labelNames: ["transport"],
    registers: [registry],
  });
  const deniedPeers = new Counter({
    name: "turn_denied_peers_total",
    help: "Permissions or channels refused by the peer policy (403) or for the wrong address family (443)",
    labelNames: ["code"],
    registers: [registry],
  });
  const quotaRefusals = new Counter({
    name: "turn_quota_refusals_total",
    help: "Allocations refused by quota (486) or for lack of capacity (508)",
    labelNames: ["code"],
    registers: [registry],
  });
  const internalErrors = new Counter({
    name: "turn_internal_errors_total",
    help: "Errors caught at the core's error boundaries (the process kept running)",
    registers: [registry],
  });
  const heartbeats = new Counter({
    name: "turn_registry_heartbeats_total",
    help: "Heartbeats sent to the node registry, by result",
    labelNames: ["result"],
    registers: [registry],
  });
  const lastHeartbeat = new Gauge({
    name: "turn_registry_last_success_timestamp_seconds",
    help: "Unix time of the last heartbeat the registry accepted",
    registers: [registry],
  });
  new Gauge({
    name: "turn_build_info",
    help: "Always 1; labels carry the version and node id",
    labelNames: ["version", "node"],
    registers: [registry],
  }).set({ version: options.version ?? "unknown", node: options.nodeId ?? "" }, 1);
  // Zero-initialise the labelled series so dashboards see 0 rather than nothing.
  for (const transport of ["udp", "tcp", "tls"]) {
    allocationsCreated.inc({ transport }, 0);
    authFailures.inc({ transport }, 0);
  }
  for (const code of ["403", "443"]) deniedPeers.inc({ code }, 0);
  for (const code of ["486", "508"]) quotaRefusals.inc({ code }, 0);
  for (const result of ["ok", "error"]) heartbeats.inc({ result }, 0);

  const listeners: { [K in keyof TurnEvents]?: (...args: TurnEvents[K]) => void } = {
    "allocation-created": (event) => allocationsCreated.inc({ transport: event.client.transport }),
    "allocation-ended": (record) => {
      allocationsEnded.inc({ reason: record.reason });
      allocationDuration.observe(record.durationSeconds);
    },
    "auth-failure": (event) => authFailures.inc({ transport: event.client.transport }),
    "peer-denied": (event) => deniedPeers.inc({ code: String(event.code) }),
    "quota-refused": (event) => quotaRefusals.inc({ code: String(event.code) }),
    "internal-error": () => internalErrors.inc(),
  };
  for (const [name, listener] of Object.entries(listeners)) server.on(name as keyof TurnEvents, listener as (...args: unknown[]) => void);

  return {
    registry,
    recordHeartbeat(result) {
      heartbeats.inc({ result });
      if (result === "ok") lastHeartbeat.set(Date.now() / 1000);
    },
    detach() {
      for (const [name, listener] of Object.entries(listeners))
        server.off(name as keyof TurnEvents, listener as (...args: unknown[]) => void);
    },
  };
}

/** Readiness as /readyz reports it. */
export interface Readiness {
  ready: boolean;
  /** "ready", "starting" or "draining". */
  status: string;
}

/** Options of the operations HTTP server. */
export interface OpsServerOptions {
  address: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Registry served on /metrics; null answers 404 there. */
  registry: Registry | null;
  readiness: () => Readiness;
}

/** A running operations HTTP server. */
export interface OpsServer {
  address: string;
  port: number;
  close(): Promise<void>;
}

function sendJson(response: ServerResponse, status: number, body: object, head: boolean): void {
  const text = `${JSON.stringify(body)}\n`;
  response.writeHead(status, {
    "content-type": "application/json",
    "cache-control": "no-store",
    "content-length": Buffer.byteLength(text),
  });
  response.end(head ? undefined : text);
}

async function handle(request: IncomingMessage, response: ServerResponse, options: OpsServerOptions): Promise<void> {
  const head = request.method === "HEAD";
  if (request.method !== "GET" && !head) {
    response.setHeader("allow", "GET, HEAD");
    sendJson(response, 405, { error: "method_not_allowed" }, false);
    return;
  }
  const path = (request.url ?? "/").split("?")[0];
  if (path === "/healthz") {
    sendJson(response, 200, { status: "ok" }, head);
  } else if (path === "/readyz") {
    const readiness = options.readiness();
    sendJson(response, readiness.ready ? 200 : 503, { status: readiness.status }, head);
  } else if (path === "/metrics" && options.registry) {
    const body = await options.registry.metrics();
    response.writeHead(200, { "content-type": options.registry.contentType, "cache-control": "no-store" });
    response.end(head ? undefined : body);
  } else {
    sendJson(response, 404, { error: "not_found" }, head);
  }
}

/**
 * Starts the operations HTTP server. Rejects with the listen error (e.g. EADDRINUSE) so the caller
 * can name the setting. Keep it on a private address: metrics reveal load and user activity.
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server: Server = createServer((request, response) => {
    handle(request, response, options).catch(() => {
      if (!response.headersSent) sendJson(response, 500, { error: "internal" }, false);
      else response.destroy();
    });
  });
  // Slow or idle clients must not pin sockets: probes and scrapes are quick.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.address, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    address: bound.address,
    port: bound.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
