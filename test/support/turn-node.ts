/**
 * One real TURN node: the `switchboard-turn` bin with coturn-style flags (docs/turn-server.md), REST
 * credentials signed with the worker's TURN_SECRETS, heartbeats to the worker's registry, and its own
 * relay port range so a relayed address tells which node allocated it. Secrets go by environment, as in
 * production (flags show in `ps`).
 */
import { join } from "node:path";
import { httpGet } from "./http.ts";
import { type ExitStatus, type ManagedProcess, startProcess } from "./processes.ts";
import { REPO_ROOT, testEnv } from "./repo.ts";
import { eventually } from "./wait.ts";

/** The TURN server's command. */
export const TURN_BIN = join(REPO_ROOT, "turn-server", "bin", "switchboard-turn.js");

/** Options of `startTurnNode`. */
export interface TurnNodeOptions {
  /** Registry id, e.g. "e2e-a". */
  nodeId: string;
  /** Address clients reach; also the relay address and the host in advertised URLs unless set. */
  listeningIp: string;
  relayIp?: string;
  publicHost?: string;
  /** UDP and TCP port (from the e2e range 3501-3520). */
  port: number;
  /** TLS port; TLS listens only with `tls`. */
  tlsPort?: number;
  tls?: { certFile: string; keyFile: string };
  /** Relay port range of this node (disjoint per node). */
  minRelayPort: number;
  maxRelayPort: number;
  /** Port of /healthz, /readyz and /metrics (from 9661-9680). */
  metricsPort: number;
  /** The worker this node heartbeats to (http only over loopback) and the secrets it shares with it. */
  registryUrl: string;
  nodeToken: string;
  authSecrets: string;
  /** Open 127.0.0.0/8 as peers (browsers on this host). */
  allowLoopbackPeers?: boolean;
  /** Ranges the default peer policy denies that this test opens, e.g. "10.77.0.0/16". */
  allowedPeerIps?: string[];
  /** More flags. */
  extraArgs?: string[];
  /** Run inside this network namespace. */
  netns?: string;
  /** Directory for the log. */
  workDir: string;
}

/** A bound listener, from the `listening` log line. */
export interface TurnListener {
  transport: string;
  address: string;
  port: number;
}

/** A running TURN node. */
export interface TurnNode {
  readonly nodeId: string;
  readonly options: TurnNodeOptions;
  readonly process: ManagedProcess;
  /** Listeners it bound, as it logged them. */
  readonly listeners: TurnListener[];
  /** ICE URLs it advertises to the registry. */
  readonly urls: string[];
  /** Whether `host:port` is one of this node's relayed addresses (listening IP or relay IP, port in its range). */
  ownsRelayAddress(address: string | undefined, port: number | undefined): boolean;
  /** Parsed /metrics: the sum of every sample of `name` whose labels include `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Its JSON log lines with `event` equal to the given one. */
  events(event: string): Record<string, unknown>[];
  /** SIGKILL: the node disappears without a goodbye (no drain, no last heartbeat). */
  kill(): Promise<ExitStatus>;
  /** SIGTERM with a drain deadline of 0: allocations end at once, then it exits. */
  stop(): Promise<ExitStatus>;
}

/** Starts a node and resolves once it answers /healthz and has logged its listeners. */
export async function startTurnNode(options: TurnNodeOptions): Promise<TurnNode> {
  const relayIp = options.relayIp ?? options.listeningIp;
  const flags = [
    `--listening-ip=${options.listeningIp}`,
    `--listening-port=${options.port}`,
    `--relay-ip=${relayIp}`,
    `--public-host=${options.publicHost ?? options.listeningIp}`,
    `--min-port=${options.minRelayPort}`,
    `--max-port=${options.maxRelayPort}`,
    "--realm=switchboard.e2e",
    "--use-auth-secret",
    `--metrics-ip=127.0.0.1`,
    `--metrics-port=${options.metricsPort}`,
    `--registry-url=${options.registryUrl}`,
    `--node-id=${options.nodeId}`,
    "--region=e2e",
    "--heartbeat-interval=1",
    "--drain-timeout=0",
    ...(options.tls ? [`--cert=${options.tls.certFile}`, `--pkey=${options.tls.keyFile}`] : []),
    ...(options.tls && options.tlsPort !== undefined ? [`--tls-listening-port=${options.tlsPort}`] : []),
    ...(options.allowLoopbackPeers ? ["--allow-loopback-peers"] : []),
    ...(options.allowedPeerIps ?? []).map((range) => `--allowed-peer-ip=${range}`),
    ...(options.extraArgs ?? []),
  ];
  const nodeArgs = [TURN_BIN, ...flags];
  const [command, args] = options.netns
    ? ["ip", ["netns", "exec", options.netns, process.execPath, ...nodeArgs]]
    : [process.execPath, nodeArgs];
  const child = startProcess({
    name: `turn ${options.nodeId}`,
    command,
    args,
    cwd: REPO_ROOT,
    logFile: join(options.workDir, `turn-${options.nodeId}.log`),
    env: testEnv({ TURN_STATIC_AUTH_SECRET: options.authSecrets, TURN_NODE_TOKEN: options.nodeToken }),
  });
  const metricsUrl = `http://127.0.0.1:${options.metricsPort}`;
  const events = (event: string) => parseLogLines(child.log()).filter((line) => line.event === event);
  let listening: Record<string, unknown> | undefined;
  try {
    listening = await eventually(
      `TURN node ${options.nodeId} to listen and answer /healthz`,
      async () => {
        const line = events("listening")[0];
        if (!line) return undefined;
        return (await httpGet(`${metricsUrl}/healthz`, { netns: options.netns }))?.status === 200 ? line : undefined;
      },
      { timeoutMs: 30_000, abortIf: () => (child.hasExited() ? "the TURN node exited" : undefined) },
    );
  } catch (error) {
    const tail = child.logTail();
    await child.stop("SIGKILL");
    throw new Error(`${(error as Error).message}\n--- ${options.nodeId} log ---\n${tail}`);
  }
  const listeners = (listening.listeners as TurnListener[] | undefined) ?? [];
  const urls = (listening.urls as string[] | undefined) ?? [];
  const relayHosts = new Set([options.listeningIp, relayIp, options.publicHost ?? options.listeningIp]);
  return {
    nodeId: options.nodeId,
    options,
    process: child,
    listeners,
    urls,
    ownsRelayAddress: (address, port) =>
      address !== undefined &&
      port !== undefined &&
      relayHosts.has(address) &&
      port >= options.minRelayPort &&
      port <= options.maxRelayPort,
    metric: async (name, labels = {}) => {
      const answer = await httpGet(`${metricsUrl}/metrics`, { netns: options.netns });
      if (answer?.status !== 200) throw new Error(`GET ${metricsUrl}/metrics answered ${answer?.status ?? "nothing"}`);
      return sumMetric(answer.body, name, labels);
    },
    events,
    kill: () => child.stop("SIGKILL", 3000),
    stop: () => child.stop("SIGTERM", 10_000),
  };
}

/** JSON log lines of a pino log (other lines are skipped). */
export function parseLogLines(text: string): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // A line cut by a concurrent write: skip it.
    }
  }
  return lines;
}

/** Sums the Prometheus text-format samples of `name` whose labels include every pair of `labels`. */
export function sumMetric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = new Map<string, string>();
    for (const pair of (match[3] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) present.set(pair[1]!, pair[2]!);
    if (Object.entries(labels).every(([key, value]) => present.get(key) === value)) sum += Number(match[4]);
  }
  return sum;
}
