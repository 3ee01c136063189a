/** Flags and environment of `npm start`, parsed and validated once with messages that name the setting. */
import { isIP } from "node:net";
import { parseArgs } from "node:util";

/** Validated settings of the local stack. */
export interface StartOptions {
  /** Address the worker and TURN nodes listen on (and relay from). Default 127.0.0.1. */
  ip: string;
  /** wrangler dev port. Default 8787. */
  port: number;
  /** wrangler dev inspector port. Default 9229 (wrangler's own default). */
  inspectorPort: number;
  /** First TURN node's UDP+TCP port; node i uses turnPort + i - 1. Default 3478. */
  turnPort: number;
  /** First TURN node's metrics port; node i uses metricsPort + i - 1. Default 9641. */
  metricsPort: number;
  /** TURN nodes to run, 0 to 4. Default 1. */
  nodes: number;
  /** Directory for the Durable Objects' local SQLite state. Default: wrangler's .wrangler/state. */
  persistTo?: string;
}

/** The outcome of parsing: run with options, print help, or stop with a usage error. */
export type ParsedStart = { kind: "run"; options: StartOptions } | { kind: "help" } | { kind: "error"; message: string };

/** Largest --nodes: each node is a Node process; more than a few buys nothing on one machine. */
export const MAX_LOCAL_NODES = 4;

/** `npm start -- --help`. */
export const START_HELP = `Usage: npm start [-- options]

Runs Switchboard on this machine: wrangler dev (worker, Durable Objects with local SQLite state, demo page)
and TURN nodes that register with it by heartbeat. Works offline. Ctrl-C stops everything it started.

Options (each also from an environment variable):
  --ip <address>         Address everything listens on          SWITCHBOARD_IP            default 127.0.0.1
  --port <port>          Worker (wrangler dev) HTTP port        SWITCHBOARD_PORT          default 8787
  --inspector-port <p>   wrangler dev's devtools port           SWITCHBOARD_INSPECTOR_PORT default 9229
  --turn-port <port>     First TURN node's UDP+TCP port         SWITCHBOARD_TURN_PORT     default 3478
  --metrics-port <port>  First TURN node's metrics port         SWITCHBOARD_METRICS_PORT  default 9641
  --nodes <n>            TURN nodes to run (0-${MAX_LOCAL_NODES}); node i uses  SWITCHBOARD_NODES         default 1
                         turn-port+i-1 and metrics-port+i-1
  --persist-to <dir>     Durable Object state directory         SWITCHBOARD_PERSIST_TO    default .wrangler/state
  -h, --help             Show this help.

Secrets and dev settings come from .dev.vars (copied from .dev.vars.example when missing).

Examples:
  npm start
  npm start -- --nodes 2
  npm start -- --port 8800 --turn-port 3500 --metrics-port 9700
`;

/** Parses argv (after `node scripts/start.ts`) and SWITCHBOARD_* env vars; flags win over env. */
export function parseStartOptions(argv: string[], env: NodeJS.ProcessEnv): ParsedStart {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        ip: { type: "string" },
        port: { type: "string" },
        "inspector-port": { type: "string" },
        "turn-port": { type: "string" },
        "metrics-port": { type: "string" },
        nodes: { type: "string" },
        "persist-to": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    return { kind: "error", message: error instanceof Error ? error.message : String(error) };
  }
  if (values.help) return { kind: "help" };

  const setting = (flag: string, envName: string): { raw: string | undefined; name: string } => {
    const fromFlag = values[flag];
    if (typeof fromFlag === "string") return { raw: fromFlag, name: `--${flag}` };
    const fromEnv = env[envName];
    return { raw: fromEnv === "" ? undefined : fromEnv, name: envName };
  };

  try {
    const ip = setting("ip", "SWITCHBOARD_IP");
    const address = ip.raw ?? "127.0.0.1";
    if (isIP(address) === 0) throw new Error(`${ip.name} must be an IP address (got ${JSON.stringify(address)})`);
    if (address === "0.0.0.0" || address === "::") {
      throw new Error(
        `${ip.name} must be one address browsers can reach (e.g. 127.0.0.1 or this machine's LAN address), not ${address}: TURN nodes relay from it and advertise it`,
      );
    }
    const nodes = integer(setting("nodes", "SWITCHBOARD_NODES"), 1, 0, MAX_LOCAL_NODES);
    const loopback = address.startsWith("127.") || address === "::1";
    if (nodes > 0 && !loopback) {
      throw new Error(
        `${ip.name}=${address}: with TURN nodes it must be a loopback address (127.x.y.z or ::1): local nodes send heartbeats over plain http, which switchboard-turn allows only to loopback; use --nodes 0 to serve the worker alone on ${address}`,
      );
    }
    const turnPort = integer(setting("turn-port", "SWITCHBOARD_TURN_PORT"), 3478, 1, 65_535 - Math.max(nodes - 1, 0));
    const metricsPort = integer(setting("metrics-port", "SWITCHBOARD_METRICS_PORT"), 9641, 1, 65_535 - Math.max(nodes - 1, 0));
    const persist = setting("persist-to", "SWITCHBOARD_PERSIST_TO");
    return {
      kind: "run",
      options: {
        ip: address,
        port: integer(setting("port", "SWITCHBOARD_PORT"), 8787, 1, 65_535),
        inspectorPort: integer(setting("inspector-port", "SWITCHBOARD_INSPECTOR_PORT"), 9229, 1, 65_535),
        turnPort,
        metricsPort,
        nodes,
        ...(persist.raw !== undefined ? { persistTo: persist.raw } : {}),
      },
    };
  } catch (error) {
    return { kind: "error", message: (error as Error).message };
  }
}

function integer(setting: { raw: string | undefined; name: string }, fallback: number, min: number, max: number): number {
  if (setting.raw === undefined) return fallback;
  const value = Number(setting.raw);
  if (!/^\d+$/.test(setting.raw) || value < min || value > max) {
    throw new Error(`${setting.name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(setting.raw)})`);
  }
  return value;
}
