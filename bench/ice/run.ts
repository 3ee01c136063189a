/**
 * `npm run bench:ice`: requests/s and latency of `GET /v1/ice` against `GET /healthz` on one `wrangler dev`,
 * in the same run (alternating rounds, so drift of the machine hits both). Target: /v1/ice ≥ 0.8 × /healthz.
 *
 * It starts `wrangler dev` (port 8721, inspector 9321, a fresh --persist-to directory, secrets by --var),
 * registers a few TURN nodes by heartbeat (and keeps them alive), then runs a fixed number of requests at a
 * fixed concurrency per endpoint, each phase also bounded in time. Writes bench/results/ice.json.
 *
 *   npm run bench:ice -- [--requests 20000] [--concurrency 32] [--nodes 4] [--rounds 2] [--phase-seconds 60]
 *
 * /v1/ice runs with its production path: room-token auth (HS256 verify), the per-isolate rate limiter (with
 * limits raised so the benchmark measures cost, not refusals), the snapshot cache (ICE_SNAPSHOT_CACHE_SECONDS
 * default), rendezvous selection and an HMAC-SHA1 credential per request.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { mintRoomToken } from "../../protocol/room-token.ts";

const PORT = 8721;
const INSPECTOR_PORT = 9321;
const ORIGIN = `http://127.0.0.1:${PORT}`;
const TARGET_RATIO = 0.8;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const RESULTS = join(ROOT, "bench", "results", "ice.json");

const SECRETS = {
  ROOM_TOKEN_SECRET: "bench-room-token-secret-0123456789abcdef",
  TURN_SECRETS: "bench-turn-secret",
  TURN_NODE_TOKEN: "bench-node-token",
  API_KEYS: "bench-api-key",
  ADMIN_TOKEN: "bench-admin-token",
};

const { values: args } = parseArgs({
  options: {
    requests: { type: "string", default: "20000" },
    concurrency: { type: "string", default: "32" },
    nodes: { type: "string", default: "4" },
    rounds: { type: "string", default: "2" },
    "phase-seconds": { type: "string", default: "60" },
  },
});
const totalRequests = positive("requests");
const concurrency = positive("concurrency");
const nodeCount = positive("nodes");
const rounds = positive("rounds");
const phaseMs = positive("phase-seconds") * 1000;

function positive(name: keyof typeof args): number {
  const value = Number(args[name]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
  return value;
}

/** One endpoint's measured numbers, summed over rounds. */
interface PhaseResult {
  name: string;
  requests: number;
  failures: number;
  failureKinds: Record<string, number>;
  seconds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: concurrency });

/** One HTTP GET; resolves with the status after the body is read. */
function get(path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${ORIGIN}${path}`, { agent, headers }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode ?? 0));
      response.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

function post(path: string, token: string, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = request(
      `${ORIGIN}${path}`,
      {
        agent,
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
      },
      (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** Runs `count` requests with `concurrency` in flight, stopping early at `deadlineMs`; returns per-request latencies. */
async function load(count: number, deadlineMs: number, next: (index: number) => Promise<number>): Promise<LoadRun> {
  const latencies: number[] = [];
  let failures = 0;
  const failureKinds: Record<string, number> = {};
  let issued = 0;
  const started = performance.now();
  async function worker(): Promise<void> {
    while (issued < count && performance.now() < deadlineMs) {
      const index = issued++;
      const t0 = performance.now();
      try {
        const status = await next(index);
        if (status !== 200) {
          failures += 1;
          failureKinds[`HTTP ${status}`] = (failureKinds[`HTTP ${status}`] ?? 0) + 1;
        }
      } catch (error) {
        failures += 1;
        const kind = error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.message) : String(error);
        failureKinds[kind] = (failureKinds[kind] ?? 0) + 1;
      }
      latencies.push(performance.now() - t0);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { latencies, failures, failureKinds, ms: performance.now() - started };
}

/** One load phase: per-request latencies and what the failures were (status or socket error). */
interface LoadRun {
  latencies: number[];
  failures: number;
  failureKinds: Record<string, number>;
  ms: number;
}

function percentile(sorted: number[], share: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)]!;
}

function summarize(name: string, runs: LoadRun[]): PhaseResult {
  const latencies = runs.flatMap((run) => run.latencies).sort((a, b) => a - b);
  const seconds = runs.reduce((sum, run) => sum + run.ms, 0) / 1000;
  const round = (value: number) => Math.round(value * 100) / 100;
  return {
    name,
    requests: latencies.length,
    failures: runs.reduce((sum, run) => sum + run.failures, 0),
    failureKinds: runs.reduce<Record<string, number>>((kinds, run) => {
      for (const [kind, count] of Object.entries(run.failureKinds)) kinds[kind] = (kinds[kind] ?? 0) + count;
      return kinds;
    }, {}),
    seconds: round(seconds),
    requestsPerSecond: Math.round(latencies.length / seconds),
    p50Ms: round(percentile(latencies, 0.5)),
    p99Ms: round(percentile(latencies, 0.99)),
    maxMs: round(latencies[latencies.length - 1] ?? Number.NaN),
  };
}

function startWrangler(persistDir: string): ChildProcess {
  const vars = {
    ...SECRETS,
    ENVIRONMENT: "bench",
    TURN_NODE_HOSTS: "127.0.0.1",
    STUN_URLS: "stun:127.0.0.1:3478",
    TURN_STATIC_URLS: "",
    ICE_RATE_LIMIT_PER_MINUTE: "1000000000",
    ICE_RATE_LIMIT_BURST: "1000000000",
  };
  const varArgs = Object.entries(vars).flatMap(([key, value]) => ["--var", `${key}:${value}`]);
  return spawn(
    join(ROOT, "node_modules", ".bin", "wrangler"),
    [
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(PORT),
      "--inspector-port",
      String(INSPECTOR_PORT),
      "--persist-to",
      persistDir,
      "--log-level",
      "warn",
      "--show-interactive-dev-session=false",
      ...varArgs,
    ],
    {
      cwd: ROOT,
      detached: true, // its own process group, so the whole wrangler/workerd tree stops with it
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        CI: "true",
        WRANGLER_SEND_METRICS: "false",
        WRANGLER_SEND_ERROR_REPORTS: "false",
        WRANGLER_HIDE_BANNER: "true",
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
        XDG_CONFIG_HOME: join(persistDir, "xdg"),
      },
    },
  );
}

async function waitReady(child: ChildProcess, timeoutMs: number): Promise<void> {
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}:\n${output.slice(-2000)}`);
    try {
      if ((await get("/healthz", {})) === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`wrangler dev was not ready within ${timeoutMs / 1000} s:\n${output.slice(-2000)}`);
}

function heartbeatBody(index: number): unknown {
  const port = 34780 + index * 10;
  return {
    id: `bench-node-${index}`,
    region: "local",
    urls: [
      `stun:127.0.0.1:${port}`,
      `turn:127.0.0.1:${port}?transport=udp`,
      `turn:127.0.0.1:${port}?transport=tcp`,
      `turns:127.0.0.1:${port + 1}?transport=tcp`,
    ],
    capacity: 1000,
    load: { allocations: index * 10, bps: 0 },
  };
}

async function registerNodes(): Promise<void> {
  for (let index = 0; index < nodeCount; index++) {
    const status = await post("/v1/turn/nodes/heartbeat", SECRETS.TURN_NODE_TOKEN, heartbeatBody(index));
    if (status !== 200) throw new Error(`heartbeat of bench-node-${index} answered ${status}`);
  }
}

async function main(): Promise<void> {
  const persistDir = mkdtempSync(join(tmpdir(), "switchboard-bench-ice-"));
  const wrangler = startWrangler(persistDir);
  const stop = () => {
    try {
      if (wrangler.pid !== undefined) process.kill(-wrangler.pid, "SIGTERM");
    } catch {
      // already gone
    }
  };
  process.once("SIGINT", () => {
    stop();
    process.exit(130);
  });
  let keepAlive: NodeJS.Timeout | undefined;
  try {
    await waitReady(wrangler, 90_000);
    await registerNodes();
    // Heartbeats every 5 s keep the nodes live (TTL 15 s) for runs longer than the TTL.
    keepAlive = setInterval(() => void registerNodes().catch(() => {}), 5000);

    const tokens = await Promise.all(
      Array.from({ length: 16 }, (_, index) =>
        mintRoomToken(SECRETS.ROOM_TOKEN_SECRET, { room: "bench", userId: `bench-user-${index}`, ttlSeconds: 3600 }),
      ),
    );
    const iceHeaders = tokens.map((token) => ({ authorization: `Bearer ${token}` }));

    // Sanity: the answer carries one of the registered nodes and a TURN credential.
    const probe = await fetch(`${ORIGIN}/v1/ice?room=probe`, { headers: iceHeaders[0]! });
    const answer = (await probe.json()) as { nodeId?: string; iceServers?: { username?: string }[] };
    if (probe.status !== 200 || !answer.nodeId?.startsWith("bench-node-") || !answer.iceServers?.some((server) => server.username)) {
      throw new Error(`unexpected /v1/ice answer ${probe.status}: ${JSON.stringify(answer)}`);
    }

    const healthz = (_index: number) => get("/healthz", {});
    const ice = (index: number) => get(`/v1/ice?room=room-${index % 5000}`, iceHeaders[index % iceHeaders.length]!);
    // Warm-up: JIT, isolate, snapshot cache.
    await load(Math.min(500, totalRequests), performance.now() + 10_000, healthz);
    await load(Math.min(500, totalRequests), performance.now() + 10_000, ice);

    const perRound = Math.max(1, Math.floor(totalRequests / rounds));
    const healthRuns = [];
    const iceRuns = [];
    for (let round = 0; round < rounds; round++) {
      healthRuns.push(await load(perRound, performance.now() + phaseMs / rounds, healthz));
      iceRuns.push(await load(perRound, performance.now() + phaseMs / rounds, ice));
    }
    const results = [summarize("GET /healthz", healthRuns), summarize("GET /v1/ice?room=", iceRuns)];
    const ratio = Math.round((results[1]!.requestsPerSecond / results[0]!.requestsPerSecond) * 100) / 100;

    console.log(
      `\n/v1/ice vs /healthz on wrangler dev (${concurrency} concurrent, ${rounds} alternating rounds, ${nodeCount} TURN nodes)\n`,
    );
    console.table(
      results.map((result) => ({
        endpoint: result.name,
        requests: result.requests,
        failures: result.failures,
        "req/s": result.requestsPerSecond,
        "p50 ms": result.p50Ms,
        "p99 ms": result.p99Ms,
        "max ms": result.maxMs,
      })),
    );
    const verdict = ratio >= TARGET_RATIO ? "meets" : "misses";
    for (const result of results) {
      if (result.failures > 0) console.log(`${result.name} failures: ${JSON.stringify(result.failureKinds)}`);
    }
    console.log(`ratio /v1/ice : /healthz = ${ratio}x (target ≥ ${TARGET_RATIO}x: ${verdict})`);

    mkdirSync(dirname(RESULTS), { recursive: true });
    writeFileSync(
      RESULTS,
      `${JSON.stringify(
        {
          benchmark: "ice",
          date: new Date().toISOString(),
          node: process.version,
          settings: { requests: totalRequests, concurrency, rounds, nodes: nodeCount, phaseSeconds: phaseMs / 1000 },
          results,
          ratio,
          target: TARGET_RATIO,
          meetsTarget: ratio >= TARGET_RATIO,
        },
        null,
        2,
      )}\n`,
    );
    console.log(`written to ${RESULTS}`);
    if (results.some((result) => result.failures > 0)) process.exitCode = 1;
  } finally {
    if (keepAlive) clearInterval(keepAlive);
    agent.destroy();
    stop();
    rmSync(persistDir, { recursive: true, force: true });
  }
}

await main();
