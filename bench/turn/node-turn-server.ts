/**
 * Launches node-turn 0.0.6 (the measured baseline; CommonJS, hence createRequire) with one static user on
 * 127.0.0.1. Usage: node bench/turn/node-turn-server.ts --port P --min-port A --max-port B [--user u:p] [--realm r]
 * node-turn has no peer filtering, so loopback peers are relayed without a flag.
 */
import { createRequire } from "node:module";
import { parseArgs } from "node:util";

const require = createRequire(import.meta.url);

/** node-turn's constructor options that this launcher sets (node-turn/lib/server.js). */
interface NodeTurnConfig {
  listeningIps: string[];
  relayIps: string[];
  listeningPort: number;
  minPort: number;
  maxPort: number;
  authMech: "long-term";
  realm: string;
  credentials: Record<string, string>;
  debugLevel: "ERROR";
  log: (message: unknown) => void;
}

/** The part of node-turn's server object this launcher uses. */
interface NodeTurnServer {
  start(): void;
  stop(): void;
}

const NodeTurn = require("node-turn") as new (config: NodeTurnConfig) => NodeTurnServer;

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    "min-port": { type: "string" },
    "max-port": { type: "string" },
    user: { type: "string", default: "bench:secret" },
    realm: { type: "string", default: "bench" },
    ip: { type: "string", default: "127.0.0.1" },
  },
});

const port = Number(values.port);
const minPort = Number(values["min-port"]);
const maxPort = Number(values["max-port"]);
if (!Number.isInteger(port) || !Number.isInteger(minPort) || !Number.isInteger(maxPort)) {
  process.stderr.write("node-turn-server: --port, --min-port and --max-port are required integers\n");
  process.exit(2);
}
const separator = values.user.indexOf(":");
const username = values.user.slice(0, separator);
const password = values.user.slice(separator + 1);

const server = new NodeTurn({
  listeningIps: [values.ip],
  relayIps: [values.ip],
  listeningPort: port,
  minPort,
  maxPort,
  authMech: "long-term",
  realm: values.realm,
  credentials: { [username]: password },
  // Errors only (to stderr, captured in the server log): they explain the failures the benchmark records.
  debugLevel: "ERROR",
  log: (message) => process.stderr.write(`${String(message)}\n`),
});
server.start();
process.stdout.write(`node-turn listening on ${values.ip}:${port} (relay ${minPort}-${maxPort})\n`);

// Exit on SIGTERM/SIGINT without stop(): the benchmark only needs the process gone, and an uncaught
// exception (node-turn's known crashes) must stay visible as a non-zero exit.
for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => process.exit(0));
