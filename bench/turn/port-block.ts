/**
 * Picks a block of loopback ports no socket is bound to now: a TURN server needs a fixed listening port and
 * a relay range (--min-port/--max-port), which port 0 cannot give. The block sits below Linux's ephemeral
 * range (net.ipv4.ip_local_port_range, 32768–60999 here), so the clients' own port-0 sockets never take it.
 */
import { readFileSync } from "node:fs";

/** Ports for one server run: listening, metrics and echo-peer ports, then the relay range. */
export interface PortBlock {
  listeningPort: number;
  /** A TCP port for a server's own metrics HTTP endpoint, when it must have one. */
  metricsPort: number;
  /** A UDP port for the external echo peer (turnutils_peer) of workloads that use one. */
  peerPort: number;
  minRelayPort: number;
  maxRelayPort: number;
}

/** Finds `relayPorts + 3` consecutive ports with no UDP or TCP socket bound, starting at `base`, stepping up. */
export function findFreePortBlock(base: number, relayPorts: number): PortBlock {
  const used = boundPorts();
  const size = relayPorts + 3;
  for (let start = base; start + size <= 32768; start += size) {
    let clash = false;
    for (let port = start; port < start + size && !clash; port += 1) clash = used.has(port);
    if (!clash)
      return { listeningPort: start, metricsPort: start + 1, peerPort: start + 2, minRelayPort: start + 3, maxRelayPort: start + size - 1 };
  }
  throw new Error(`no free block of ${size} ports between ${base} and 32767; pass --port-base with a free range`);
}

/** Local ports of every UDP and TCP socket on the machine (proc(5) /proc/net/{udp,udp6,tcp,tcp6}). */
function boundPorts(): Set<number> {
  const ports = new Set<number>();
  for (const table of ["udp", "udp6", "tcp", "tcp6"]) {
    let text = "";
    try {
      text = readFileSync(`/proc/net/${table}`, "utf8");
    } catch {
      continue; // e.g. IPv6 disabled
    }
    for (const line of text.split("\n").slice(1)) {
      const local = line.trim().split(/\s+/)[1];
      const hexPort = local?.split(":").pop();
      if (hexPort) ports.add(Number.parseInt(hexPort, 16));
    }
  }
  return ports;
}
