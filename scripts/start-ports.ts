/**
 * Checks, before anything starts, that every port `npm start` needs is free, so a conflict is reported
 * as "port 3478/udp (TURN node local-1) on 127.0.0.1 is in use; change it with --turn-port" instead of
 * a child dying half-way through start-up (or wrangler silently moving to another port).
 */
import { createSocket } from "node:dgram";
import { createServer, isIPv6 } from "node:net";

/** One port a process will bind. */
export interface PortNeed {
  protocol: "tcp" | "udp";
  host: string;
  port: number;
  /** Who binds it, e.g. "worker (wrangler dev)". */
  owner: string;
  /** The flag that changes it, e.g. "--port". */
  flag: string;
}

/** Why a port cannot be used, or null when it is free. */
export async function portProblem(need: PortNeed): Promise<string | null> {
  const error = need.protocol === "tcp" ? await tryTcp(need.host, need.port) : await tryUdp(need.host, need.port);
  if (error === null) return null;
  const where = `port ${need.port}/${need.protocol} for the ${need.owner} on ${need.host}`;
  switch (error.code) {
    case "EADDRINUSE":
      return `${where} is in use by another process; stop it or pick another port with ${need.flag} <port>`;
    case "EACCES":
      return `${where} needs privileges (ports below 1024); pick one above 1023 with ${need.flag} <port>`;
    case "EADDRNOTAVAIL":
      return `${where}: ${need.host} is not an address of this machine; pick another with --ip`;
    default:
      return `${where} cannot be bound (${error.code ?? error.message}); pick another with ${need.flag} <port>`;
  }
}

/** Checks every need; returns one sentence per problem (empty when all are free), including duplicates. */
export async function portProblems(needs: PortNeed[]): Promise<string[]> {
  const problems: string[] = [];
  const seen = new Map<string, PortNeed>();
  for (const need of needs) {
    const key = `${need.protocol}/${need.port}`;
    const earlier = seen.get(key);
    if (earlier) {
      problems.push(
        `port ${need.port}/${need.protocol} is asked for twice (${earlier.owner} via ${earlier.flag}, ${need.owner} via ${need.flag})`,
      );
      continue;
    }
    seen.set(key, need);
    const problem = await portProblem(need);
    if (problem !== null) problems.push(problem);
  }
  return problems;
}

function tryTcp(host: string, port: number): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => resolve(error));
    // exclusive: a clustered listener elsewhere in this process must not make the port look free.
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(null)));
  });
}

function tryUdp(host: string, port: number): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const socket = createSocket({ type: isIPv6(host) ? "udp6" : "udp4", reuseAddr: false });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      socket.close();
      resolve(error);
    });
    socket.bind({ address: host, port, exclusive: true }, () => socket.close(() => resolve(null)));
  });
}
