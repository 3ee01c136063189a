/**
 * Heartbeats to the worker's TURN node registry: `POST {registry-url}/v1/turn/nodes/heartbeat` with
 * `Authorization: Bearer <node token>` and a body checked against protocol/ice.ts `Heartbeat` before
 * it is sent. Every interval (±10 % jitter so a fleet does not beat in step); after failures, backoff
 * with jitter; failures are logged once per kind and then summarised, not once per attempt. An answer
 * with `drain: true` (an operator's drain through the admin API) calls `onDrainRequested`.
 */
import { Heartbeat, type HeartbeatResponse } from "../../protocol/ice.ts";
import type { TurnStats } from "./events.ts";
import type { Logger } from "./handlers.ts";
import type { BoundListener } from "./server-api.ts";

/** Options of the registry client. */
export interface RegistryClientOptions {
  /** Base URL of the worker, without a trailing slash. */
  url: string;
  token: string;
  /** Builds the body for this moment (load, draining). */
  heartbeat: () => Heartbeat;
  /** Seconds between heartbeats. */
  intervalSeconds: number;
  logger: Logger;
  /** Upper bound of the backoff after failures, seconds. Default 30. */
  maxBackoffSeconds?: number;
  /** Called after each attempt (metrics). */
  onResult?: (result: "ok" | "error") => void;
  /** Called when the registry answers `drain: true`. */
  onDrainRequested?: () => void;
  /** Injected for tests; default the global fetch. */
  fetch?: typeof fetch;
  /** Injected for tests; default Math.random. */
  random?: () => number;
}

/** A running heartbeat loop. */
export interface RegistryClient {
  /** Sends the first heartbeat now and keeps sending. */
  start(): void;
  /** Sends one as soon as possible (e.g. to report draining), then carries on at the interval. */
  sendNow(): void;
  /** Stops the loop and aborts a request in flight; resolves when nothing is left running. */
  stop(): Promise<void>;
  /** Consecutive failed attempts so far (0 after a success). */
  readonly failures: number;
}

/** Formats a host for a URL: IPv6 literals in brackets (RFC 3986 §3.2.2). */
export function urlHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/**
 * The ICE URLs this node serves (RFC 7065): `turn:HOST:PORT?transport=udp`, `turn:HOST:PORT?transport=tcp`
 * and `turns:HOST:TLSPORT?transport=tcp`, from the bound listeners (one per transport, in that order).
 */
export function iceUrls(publicHost: string, listeners: BoundListener[]): string[] {
  const host = urlHost(publicHost);
  const urls: string[] = [];
  const udp = listeners.find((listener) => listener.transport === "udp");
  const tcp = listeners.find((listener) => listener.transport === "tcp");
  const tls = listeners.find((listener) => listener.transport === "tls");
  if (udp) urls.push(`turn:${host}:${udp.port}?transport=udp`);
  if (tcp) urls.push(`turn:${host}:${tcp.port}?transport=tcp`);
  if (tls) urls.push(`turns:${host}:${tls.port}?transport=tcp`);
  return urls;
}

/**
 * Returns a function giving the current load: live allocations and relayed bits per second (both
 * directions) averaged since the previous call.
 */
export function loadMeter(stats: () => TurnStats, now: () => number = Date.now): () => { allocations: number; bps: number } {
  let lastBytes: number | undefined;
  let lastTime = now();
  return () => {
    const current = stats();
    const bytes = current.bytesClientToPeer + current.bytesPeerToClient;
    const time = now();
    const seconds = (time - lastTime) / 1000;
    const bps = lastBytes === undefined || seconds <= 0 ? 0 : Math.max(0, Math.round(((bytes - lastBytes) * 8) / seconds));
    lastBytes = bytes;
    lastTime = time;
    return { allocations: current.allocations, bps };
  };
}

/** Creates the heartbeat loop (not started). */
export function createRegistryClient(options: RegistryClientOptions): RegistryClient {
  const endpoint = `${options.url.replace(/\/+$/, "")}/v1/turn/nodes/heartbeat`;
  const fetchImpl = options.fetch ?? fetch;
  const random = options.random ?? Math.random;
  // The registry may ask for more frequent heartbeats (answer.heartbeatIntervalSeconds); never less frequent.
  let intervalMs = options.intervalSeconds * 1000;
  const maxBackoffMs = (options.maxBackoffSeconds ?? 30) * 1000;
  const timeoutMs = Math.min(10_000, Math.max(2_000, options.intervalSeconds * 1000));
  const { logger } = options;

  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let abort: AbortController | undefined;
  let sendAgain = false;
  let failures = 0;
  let lastProblem = "";
  let lastProblemLoggedAt = 0;
  let suppressed = 0;
  let warnedTtl = false;

  function schedule(delayMs: number): void {
    clearTimeout(timer);
    if (!running) return;
    timer = setTimeout(() => {
      timer = undefined;
      void beat();
    }, delayMs);
    timer.unref();
  }

  function nextDelay(): number {
    if (failures === 0) return intervalMs * (0.9 + 0.2 * random());
    // Equal jitter: half fixed, half random, of an exponentially growing base (capped).
    const base = Math.min(maxBackoffMs, intervalMs * 2 ** (failures - 1));
    return base / 2 + (base / 2) * random();
  }

  function failed(problem: string, detail: Record<string, unknown> = {}): void {
    failures++;
    options.onResult?.("error");
    const now = Date.now();
    // Log a new kind of failure at once; the same one again at most once a minute, with a count.
    if (problem !== lastProblem || now - lastProblemLoggedAt >= 60_000) {
      logger.warn(
        { event: "heartbeat-failed", endpoint, failures, ...(suppressed > 0 ? { notLogged: suppressed } : {}), ...detail },
        `heartbeat to the registry failed: ${problem}`,
      );
      lastProblem = problem;
      lastProblemLoggedAt = now;
      suppressed = 0;
    } else {
      suppressed++;
    }
  }

  async function send(): Promise<void> {
    // sentAt lets the registry refuse replayed or reordered heartbeats (protocol/ice.ts).
    const body: Heartbeat = { ...options.heartbeat(), sentAt: Date.now() };
    const checked = Heartbeat.safeParse(body);
    if (!checked.success) {
      const issues = checked.error.issues.map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`).join("; ");
      failed(`the heartbeat body is invalid (${issues}); fix the node settings`);
      return;
    }
    abort = new AbortController();
    const timeout = setTimeout(() => abort?.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    try {
      const response = await fetchImpl(endpoint, {
        method: "POST",
        headers: { authorization: `Bearer ${options.token}`, "content-type": "application/json" },
        body: JSON.stringify(checked.data),
        signal: abort.signal,
      });
      const text = await response.text();
      if (response.status === 401 || response.status === 403) {
        failed(
          `the registry refused the node token (${response.status}): --node-token/TURN_NODE_TOKEN must equal the worker's TURN_NODE_TOKEN`,
        );
        return;
      }
      if (!response.ok) {
        failed(`the registry answered ${response.status}`, { answer: text.slice(0, 300) });
        return;
      }
      if (failures > 0)
        logger.info({ event: "heartbeat-recovered", endpoint, afterFailures: failures }, "heartbeats reach the registry again");
      failures = 0;
      lastProblem = "";
      suppressed = 0;
      options.onResult?.("ok");
      let answer: Partial<HeartbeatResponse> = {};
      try {
        answer = JSON.parse(text) as Partial<HeartbeatResponse>;
      } catch {
        // A 2xx without JSON still counts as delivered.
      }
      const wanted = answer.heartbeatIntervalSeconds;
      if (typeof wanted === "number" && wanted > 0 && wanted * 1000 < intervalMs) {
        intervalMs = wanted * 1000;
        logger.info(
          { event: "heartbeat-interval-adopted", intervalSeconds: wanted, configuredSeconds: options.intervalSeconds },
          "the registry asked for more frequent heartbeats than --heartbeat-interval: following it",
        );
      } else if (typeof answer.ttlSeconds === "number" && answer.ttlSeconds * 1000 < intervalMs * 2 && !warnedTtl) {
        warnedTtl = true;
        logger.warn(
          { event: "heartbeat-interval-too-long", ttlSeconds: answer.ttlSeconds, intervalSeconds: intervalMs / 1000 },
          "--heartbeat-interval is over half the registry's node TTL: one lost heartbeat drops this node",
        );
      }
      if (answer.drain === true) options.onDrainRequested?.();
    } catch (error) {
      if (!running) return;
      const cause = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
      failed(cause);
    } finally {
      clearTimeout(timeout);
      abort = undefined;
    }
  }

  async function beat(): Promise<void> {
    if (!running || inFlight) return;
    inFlight = send();
    await inFlight;
    inFlight = undefined;
    if (!running) return;
    if (sendAgain) {
      sendAgain = false;
      void beat();
      return;
    }
    schedule(nextDelay());
  }

  return {
    start() {
      if (running) return;
      running = true;
      void beat();
    },
    sendNow() {
      if (!running) return;
      if (inFlight) {
        sendAgain = true;
        return;
      }
      clearTimeout(timer);
      void beat();
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      abort?.abort(new Error("stopped"));
      await inFlight;
    },
    get failures() {
      return failures;
    },
  };
}
