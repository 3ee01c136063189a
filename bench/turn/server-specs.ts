/**
 * The servers under test and their exact command lines: ours (the switchboard-turn bin on its batched native
 * UDP path, `--udp-io=native`), ours-dgram (the same bin on Node's dgram, `--udp-io=dgram`: what the native
 * path buys), coturn with one relay thread, and node-turn 0.0.6. All listen on 127.0.0.1 with the static user bench:secret, realm
 * "bench", and relay to loopback peers (ours and coturn only with their explicit flag).
 */
import { fileURLToPath } from "node:url";
import type { PortBlock } from "./port-block.ts";
import type { ServerCommand } from "./server-process.ts";

/** Server names as accepted by --only. */
export const SERVER_NAMES = ["ours", "ours-dgram", "coturn", "node-turn"] as const;
/** One of SERVER_NAMES. */
export type ServerName = (typeof SERVER_NAMES)[number];

/** Credentials every server is started with and every client uses. */
export const BENCH_USER = { username: "bench", password: "secret", realm: "bench" } as const;

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
/** Path of our relay's bin (owned by turn-server/). */
export const OURS_BIN = `${repoRoot}turn-server/bin/switchboard-turn.js`;
const NODE_TURN_LAUNCHER = fileURLToPath(new URL("./node-turn-server.ts", import.meta.url));

/** Extra knobs for one run: node flags (e.g. --cpu-prof) for the Node-based servers, extra server flags. */
export interface CommandOptions {
  nodeFlags?: string[];
  /** Appended to the server's own flags (e.g. ours' --reuse-port). */
  extraArgs?: string[];
}

/** The command line that starts `name` on the ports of `ports`. */
export function serverCommand(name: ServerName, ports: PortBlock, options: CommandOptions = {}): ServerCommand {
  const user = `${BENCH_USER.username}:${BENCH_USER.password}`;
  const nodeFlags = options.nodeFlags ?? [];
  switch (name) {
    case "ours":
    case "ours-dgram":
      return {
        command: process.execPath,
        args: [
          ...nodeFlags,
          OURS_BIN,
          "--listening-ip=127.0.0.1",
          `--listening-port=${ports.listeningPort}`,
          "--relay-ip=127.0.0.1",
          `--min-port=${ports.minRelayPort}`,
          `--max-port=${ports.maxRelayPort}`,
          "--allow-loopback-peers",
          `--user=${user}`,
          `--realm=${BENCH_USER.realm}`,
          // Unlimited allocations per user, as coturn's default: workload B and the memory run put 200 and
          // 1 000 allocations on the one bench user (our default, 128, would answer 486).
          "--user-quota=0",
          // Metrics stay on (as in production) on a port of the free block.
          `--metrics-port=${ports.metricsPort}`,
          // turnutils_uclient picks channel numbers up to 0x7FFF (RFC 5766); coturn accepts them, RFC 8656 stops at 0x4FFF.
          "--legacy-channel-numbers",
          // SIGTERM drains; with live allocations it would wait up to the default 3 600 s.
          "--drain-timeout=1",
          // Explicit, so a missing addon fails the run instead of silently measuring dgram.
          name === "ours" ? "--udp-io=native" : "--udp-io=dgram",
          ...(options.extraArgs ?? []),
        ],
      };
    case "coturn":
      return {
        command: "turnserver",
        args: [
          "-n",
          "--listening-ip=127.0.0.1",
          `--listening-port=${ports.listeningPort}`,
          "--relay-ip=127.0.0.1",
          `--min-port=${ports.minRelayPort}`,
          `--max-port=${ports.maxRelayPort}`,
          "--lt-cred-mech",
          `--user=${user}`,
          `--realm=${BENCH_USER.realm}`,
          "--allow-loopback-peers",
          "--no-cli",
          "--no-tls",
          "--no-dtls",
          // -m / --relay-threads: one relay thread, so coturn's relaying runs on one core like one Node process.
          "--relay-threads=1",
          // Log to stdout (captured to a file) instead of files under /var/log or /var/tmp.
          "--log-file=stdout",
        ],
      };
    case "node-turn":
      return {
        command: process.execPath,
        args: [
          ...nodeFlags,
          NODE_TURN_LAUNCHER,
          "--port",
          String(ports.listeningPort),
          "--min-port",
          String(ports.minRelayPort),
          "--max-port",
          String(ports.maxRelayPort),
          "--user",
          user,
          "--realm",
          BENCH_USER.realm,
        ],
      };
  }
}
