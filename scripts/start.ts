/**
 * `npm start`: the whole of Switchboard on one machine, offline. Runs `wrangler dev` (worker, Durable
 * Objects with local SQLite state, demo page) and TURN nodes that register with it by heartbeat, prints
 * where everything is, and on Ctrl-C stops all it started: TURN nodes drain and exit, then wrangler.
 * If any child dies, the rest are stopped and the exit code is non-zero.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ensureDevVars, readDevVars } from "./dev-vars.ts";
import { parseStartOptions, START_HELP, type StartOptions } from "./start-options.ts";
import { type PortNeed, portProblems } from "./start-ports.ts";
import { type RunningChild, Supervisor } from "./start-supervisor.ts";

/** Oldest Node that runs wrangler 4 and vitest 5 (package.json engines). */
const MIN_NODE = [22, 18] as const;
/** How long wrangler dev may take to answer /healthz (it bundles the worker and builds the demo first). */
const WORKER_READY_TIMEOUT_MS = 120_000;
/** How long a TURN node may take to answer /healthz on its metrics port. */
const TURN_READY_TIMEOUT_MS = 30_000;
/** How long to wait for a node's first heartbeat to show in the registry. */
const REGISTRY_TIMEOUT_MS = 20_000;
/** Drain deadline of local TURN nodes on Ctrl-C (production uses minutes; a desk wants seconds). */
const LOCAL_DRAIN_TIMEOUT_SECONDS = 3;
const POLL_INTERVAL_MS = 250;

const repoRoot = resolve(import.meta.dirname, "..");
const turnBin = join(repoRoot, "turn-server", "bin", "switchboard-turn.js");
const wranglerBin = join(repoRoot, "node_modules", "wrangler", "bin", "wrangler.js");

function say(line = ""): void {
  process.stdout.write(`${"start".padEnd(8)} | ${line}\n`);
}

function fail(message: string, exitCode = 1): never {
  process.stderr.write(`start: ${message}\n`);
  process.exit(exitCode);
}

function checkNodeVersion(): void {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  if (major < MIN_NODE[0] || (major === MIN_NODE[0] && minor < MIN_NODE[1])) {
    fail(
      `Node ${process.versions.node} is too old: Switchboard needs Node >= ${MIN_NODE.join(".")} (wrangler refuses older). ` +
        "Run it through npm (`npm start`), which puts the Node 22 from node_modules/.bin first on PATH, or install Node 22.",
    );
  }
}

/** A URL host part: IPv6 literals in brackets. */
function urlHost(ip: string): string {
  return ip.includes(":") ? `[${ip}]` : ip;
}

/** The ports every process will bind, with the flag that moves each. */
function portNeeds(options: StartOptions): PortNeed[] {
  const needs: PortNeed[] = [
    { protocol: "tcp", host: options.ip, port: options.port, owner: "worker (wrangler dev)", flag: "--port" },
    { protocol: "tcp", host: "127.0.0.1", port: options.inspectorPort, owner: "wrangler dev inspector", flag: "--inspector-port" },
  ];
  for (let index = 0; index < options.nodes; index++) {
    const owner = `TURN node local-${index + 1}`;
    const turnPort = options.turnPort + index;
    needs.push({ protocol: "udp", host: options.ip, port: turnPort, owner, flag: "--turn-port" });
    needs.push({ protocol: "tcp", host: options.ip, port: turnPort, owner, flag: "--turn-port" });
    needs.push({ protocol: "tcp", host: options.ip, port: options.metricsPort + index, owner: `${owner} metrics`, flag: "--metrics-port" });
  }
  return needs;
}

/** Settings of the local stack that come from .dev.vars. */
interface DevSettings {
  environment: string;
  turnSecrets: string;
  nodeToken: string;
  apiKey: string;
  adminToken: string;
}

function devSettings(vars: Record<string, string>, nodes: number): DevSettings {
  const missing = ["ROOM_TOKEN_SECRET", "API_KEYS", "ADMIN_TOKEN", ...(nodes > 0 ? ["TURN_SECRETS", "TURN_NODE_TOKEN"] : [])].filter(
    (name) => (vars[name] ?? "").trim() === "",
  );
  if (missing.length > 0) {
    fail(`.dev.vars lacks ${missing.join(", ")}; copy the lines from .dev.vars.example (or delete .dev.vars to recreate it)`);
  }
  return {
    environment: vars.ENVIRONMENT ?? "production",
    turnSecrets: vars.TURN_SECRETS ?? "",
    nodeToken: vars.TURN_NODE_TOKEN ?? "",
    apiKey: (vars.API_KEYS ?? "").split(",")[0]!.trim(),
    adminToken: vars.ADMIN_TOKEN ?? "",
  };
}

/**
 * Environment for children: our Node first on PATH (wrangler's build step runs `node`), wrangler offline
 * and quiet. TURN_* variables of the calling shell are dropped (except TURN_LOG_LEVEL): switchboard-turn
 * reads every flag from one, and a stray TURN_EXTERNAL_IP must not change the local stack.
 */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("TURN_") || name === "TURN_LOG_LEVEL"),
  );
  return {
    ...inherited,
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}`,
    WRANGLER_SEND_METRICS: process.env.WRANGLER_SEND_METRICS ?? "false",
    WRANGLER_SEND_ERROR_REPORTS: process.env.WRANGLER_SEND_ERROR_REPORTS ?? "false",
    WRANGLER_HIDE_BANNER: process.env.WRANGLER_HIDE_BANNER ?? "true",
    CLOUDFLARE_CF_FETCH_ENABLED: process.env.CLOUDFLARE_CF_FETCH_ENABLED ?? "false",
    ...extra,
  };
}

/** wrangler dev's arguments. */
function wranglerArgs(options: StartOptions): string[] {
  return [
    wranglerBin,
    "dev",
    "--ip",
    options.ip,
    "--port",
    String(options.port),
    "--inspector-port",
    String(options.inspectorPort),
    "--show-interactive-dev-session=false",
    ...(options.persistTo !== undefined ? ["--persist-to", resolve(options.persistTo)] : []),
  ];
}

/** One local TURN node: its name, ports and command line (coturn-style flags of switchboard-turn). */
interface LocalNode {
  name: string;
  nodeId: string;
  turnPort: number;
  metricsPort: number;
  args: string[];
  env: Record<string, string>;
}

function localNodes(options: StartOptions, settings: DevSettings): LocalNode[] {
  const registryUrl = `http://${urlHost(options.ip)}:${options.port}`;
  const nodes: LocalNode[] = [];
  for (let index = 0; index < options.nodes; index++) {
    const nodeId = `local-${index + 1}`;
    const turnPort = options.turnPort + index;
    const metricsPort = options.metricsPort + index;
    nodes.push({
      name: `turn-${index + 1}`,
      nodeId,
      turnPort,
      metricsPort,
      args: [
        turnBin,
        "--listening-ip",
        options.ip,
        "--listening-port",
        String(turnPort),
        "--relay-ip",
        options.ip,
        "--public-host",
        options.ip,
        "--realm",
        "switchboard.local",
        "--use-auth-secret",
        // The demo's browsers run on this machine, so their relay candidates' peers are loopback addresses.
        "--allow-loopback-peers",
        "--metrics-ip",
        options.ip,
        "--metrics-port",
        String(metricsPort),
        "--registry-url",
        registryUrl,
        "--node-id",
        nodeId,
        "--region",
        "local",
        "--drain-timeout",
        String(LOCAL_DRAIN_TIMEOUT_SECONDS),
      ],
      // Secrets by environment, not argv: argv is readable by every local user through ps.
      env: { TURN_STATIC_AUTH_SECRET: settings.turnSecrets, TURN_NODE_TOKEN: settings.nodeToken },
    });
  }
  return nodes;
}

/** Polls `probe` until it returns true, `timeoutMs` passes, or `stillRunning` says to give up. */
async function waitFor(probe: () => Promise<boolean>, timeoutMs: number, stillRunning: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && stillRunning()) {
    if (await probe()) return true;
    await new Promise((resolveDelay) => setTimeout(resolveDelay, POLL_INTERVAL_MS));
  }
  return false;
}

async function answers(url: string, headers: Record<string, string> = {}): Promise<Response | undefined> {
  try {
    return await fetch(url, { headers, signal: AbortSignal.timeout(2000) });
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  checkNodeVersion();
  const parsed = parseStartOptions(process.argv.slice(2), process.env);
  if (parsed.kind === "help") {
    process.stdout.write(START_HELP);
    return;
  }
  if (parsed.kind === "error") fail(`${parsed.message}\nstart: see npm start -- --help`, 2);
  const options = parsed.options;

  if (ensureDevVars(repoRoot)) say("created .dev.vars from .dev.vars.example (local development settings and secrets)");
  const settings = devSettings(readDevVars(repoRoot) ?? {}, options.nodes);
  if (settings.environment !== "development") {
    say(`note: .dev.vars sets ENVIRONMENT=${settings.environment}, so /dev/token answers 404; set ENVIRONMENT=development for it`);
  }
  const problems = await portProblems(portNeeds(options));
  if (problems.length > 0) fail(problems.join("\nstart: "));
  if (options.nodes > 0 && !existsSync(turnBin)) {
    fail(`the TURN server CLI ${turnBin} is missing; run the worker alone with --nodes 0`);
  }

  let exitCode = 0;
  let stop: ((reason: string, code: number) => void) | undefined;
  const nodes = localNodes(options, settings);
  const supervisor = new Supervisor({
    prefixWidth: 8,
    onUnexpectedExit: (child: RunningChild, code, signal) => {
      stop?.(`${child.spec.name} exited unexpectedly (${signal ?? `exit code ${code}`}); stopping the rest`, 1);
    },
  });

  const stopped = new Promise<void>((resolveStopped) => {
    stop = (reason, code) => {
      if (supervisor.isStopping) return;
      exitCode = code;
      say(reason);
      // TURN nodes first (they drain and stop heartbeating), then the worker they report to.
      void supervisor.stopAll([nodes.map((node) => node.name), ["wrangler"]]).then(resolveStopped);
    };
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      if (supervisor.isStopping) {
        say(`${signal} again: killing everything now`);
        supervisor.killAllNow();
        process.exit(130);
      }
      stop?.(`${signal}: stopping (again to kill at once)`, 0);
    });
  }

  const origin = `http://${urlHost(options.ip)}:${options.port}`;
  say(
    `starting wrangler dev on ${origin}${options.persistTo ? ` (state in ${resolve(options.persistTo)})` : " (state in .wrangler/state)"}`,
  );
  const wrangler = supervisor.start({
    name: "wrangler",
    command: process.execPath,
    args: wranglerArgs(options),
    env: childEnv(),
    cwd: repoRoot,
    // What a terminal sends wrangler on Ctrl-C: it stops workerd, then exits (code 130).
    stopSignal: "SIGINT",
    stopTimeoutMs: 10_000,
  });
  const workerUp = await waitFor(
    async () => (await answers(`${origin}/healthz`))?.ok === true,
    WORKER_READY_TIMEOUT_MS,
    () => !wrangler.hasExited && !supervisor.isStopping,
  );
  if (!workerUp && !supervisor.isStopping)
    stop?.(`the worker did not answer ${origin}/healthz within ${WORKER_READY_TIMEOUT_MS / 1000} s`, 1);

  if (!supervisor.isStopping && nodes.length > 0) {
    say("TURN nodes relay to loopback peers (--allow-loopback-peers): the demo's browsers are on this machine. Never in production.");
  }
  for (const node of nodes) {
    if (supervisor.isStopping) break;
    say(`starting TURN node ${node.nodeId} on ${options.ip}:${node.turnPort} (udp+tcp), metrics :${node.metricsPort}`);
    const child = supervisor.start({
      name: node.name,
      command: process.execPath,
      args: node.args,
      env: childEnv(node.env),
      cwd: repoRoot,
      stopSignal: "SIGTERM",
      stopTimeoutMs: (LOCAL_DRAIN_TIMEOUT_SECONDS + 5) * 1000,
    });
    const up = await waitFor(
      async () => (await answers(`http://${urlHost(options.ip)}:${node.metricsPort}/healthz`))?.ok === true,
      TURN_READY_TIMEOUT_MS,
      () => !child.hasExited && !supervisor.isStopping,
    );
    if (!up && !supervisor.isStopping)
      stop?.(`TURN node ${node.nodeId} did not answer /healthz within ${TURN_READY_TIMEOUT_MS / 1000} s`, 1);
  }

  if (!supervisor.isStopping && nodes.length > 0) await waitForRegistry(origin, settings, nodes, () => !supervisor.isStopping);
  if (!supervisor.isStopping) printSummary(options, settings, nodes, origin);

  await stopped;
  process.exit(exitCode);
}

/** Waits until every node shows in GET /v1/turn/nodes; only a note when it does not (the node keeps retrying). */
async function waitForRegistry(origin: string, settings: DevSettings, nodes: LocalNode[], stillRunning: () => boolean): Promise<void> {
  let lastStatus = 0;
  const listed = await waitFor(
    async () => {
      const response = await answers(`${origin}/v1/turn/nodes`, { authorization: `Bearer ${settings.adminToken}` });
      lastStatus = response?.status ?? 0;
      if (!response?.ok) return false;
      const text = await response.text();
      return nodes.every((node) => text.includes(`"${node.nodeId}"`));
    },
    REGISTRY_TIMEOUT_MS,
    stillRunning,
  );
  if (listed) say(`registry lists ${nodes.map((node) => node.nodeId).join(", ")} (heartbeats arrive)`);
  else if (stillRunning())
    say(`note: the registry does not list every node yet (GET /v1/turn/nodes answered ${lastStatus}); /v1/ice may warn no_turn_nodes`);
}

function printSummary(options: StartOptions, settings: DevSettings, nodes: LocalNode[], origin: string): void {
  const lines = [
    "",
    "Switchboard is running locally.",
    `  Demo           ${origin}/`,
    `  Health         ${origin}/healthz`,
    `  ICE servers    curl -s -H 'Authorization: Bearer ${settings.apiKey}' '${origin}/v1/ice?room=demo'`,
    `  Dev token      curl -s '${origin}/dev/token?room=demo&user=alice'     (add &admin=1 for an admin token)`,
    "                 npm run -s token -- --room demo --user alice            (signs with ROOM_TOKEN_SECRET from .dev.vars)",
    `  Room socket    ws://${origin.slice("http://".length)}/v1/rooms/demo/ws?token=<token>`,
  ];
  if (nodes.length > 0) {
    lines.push(`  TURN nodes     curl -s -H 'Authorization: Bearer ${settings.adminToken}' ${origin}/v1/turn/nodes`);
    for (const node of nodes) {
      lines.push(
        `    ${node.nodeId.padEnd(9)}  turn:${urlHost(options.ip)}:${node.turnPort} (udp, tcp)   metrics http://${urlHost(options.ip)}:${node.metricsPort}/metrics`,
      );
    }
  } else {
    lines.push("  TURN nodes     none (--nodes 0): /v1/ice answers STUN only, with the warning no_turn_nodes");
  }
  lines.push("", `ready: ${origin}/ (Ctrl-C stops everything)`);
  for (const line of lines) say(line);
}

await main();
