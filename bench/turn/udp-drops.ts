/**
 * Where UDP datagrams were dropped by the kernel: the machine-wide RcvbufErrors counter (/proc/net/snmp)
 * and the per-socket "drops" column of /proc/net/udp (proc(5)), which names the socket by its local port.
 * Read while the sockets are still open: a closed socket takes its count with it.
 */
import { readFileSync } from "node:fs";

/** Machine-wide UDP receive-buffer overflows so far (all sockets, all processes). */
export function udpReceiveBufferErrors(): number {
  try {
    const lines = readFileSync("/proc/net/snmp", "utf8")
      .split("\n")
      .filter((line) => line.startsWith("Udp:"));
    const names = lines[0]?.split(/\s+/) ?? [];
    const counts = lines[1]?.split(/\s+/) ?? [];
    return Number(counts[names.indexOf("RcvbufErrors")] ?? 0);
  } catch {
    return 0;
  }
}

/** Drops per local port, summed over IPv4 and IPv6 sockets bound to it. */
export function udpDropsByPort(): Map<number, number> {
  const drops = new Map<number, number>();
  for (const table of ["udp", "udp6"]) {
    let text = "";
    try {
      text = readFileSync(`/proc/net/${table}`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const port = Number.parseInt(fields[1]?.split(":").pop() ?? "", 16);
      const count = Number(fields[fields.length - 1]);
      if (Number.isInteger(port) && count > 0) drops.set(port, (drops.get(port) ?? 0) + count);
    }
  }
  return drops;
}
