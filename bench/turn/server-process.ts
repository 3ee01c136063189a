/**
 * Runs one TURN server under test as a child process: start, wait until it answers a STUN Binding
 * request (RFC 8489 §3), report whether it is still alive, stop it (SIGTERM, then SIGKILL) within bounds.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { closeSync, openSync, readFileSync } from "node:fs";
import { decodeMessage, encodeMessage, MessageType, newTransactionId } from "./stun-message.ts";

/** The exact command line of a server run. */
export interface ServerCommand {
  command: string;
  args: string[];
}

/** How a server process ended, once it has. */
export interface ServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when it ended before the benchmark asked it to. */
  unexpected: boolean;
}

/** A started server. */
export interface RunningServer {
  pid: number;
  logPath: string;
  /** Milliseconds from spawn until the readiness probe first succeeded. */
  readyAfterMs: number;
  /** Set once the process has exited. */
  exit(): ServerExit | undefined;
  /** Sends `signal` (default SIGTERM), waits up to `graceMs`, then SIGKILL; resolves once it has exited. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<ServerExit>;
  /** The last `bytes` of the server's combined stdout/stderr. */
  logTail(bytes?: number): string;
}

const live = new Set<ChildProcess>();

/** Resolves true once the server is ready; called repeatedly until the start-up deadline. */
export type ReadyProbe = () => Promise<boolean>;

/**
 * Starts `command` with output to `logPath`; resolves once `ready` says so (default: the server answers a
 * STUN Binding on 127.0.0.1:port), rejects on exit or after `readyTimeoutMs`.
 */
export async function startServer(
  command: ServerCommand,
  port: number,
  logPath: string,
  readyTimeoutMs: number,
  ready: ReadyProbe = () => answersBinding(port, 300),
): Promise<RunningServer> {
  const spawnedAt = Date.now();
  const logFd = openSync(logPath, "w");
  const child = spawn(command.command, command.args, { stdio: ["ignore", logFd, logFd] });
  closeSync(logFd);
  live.add(child);
  let exitInfo: ServerExit | undefined;
  let stopping = false;
  const exited = new Promise<ServerExit>((resolve) => {
    child.once("exit", (code, signal) => {
      live.delete(child);
      exitInfo = { code, signal, unexpected: !stopping };
      resolve(exitInfo);
    });
    child.once("error", () => {
      live.delete(child);
      exitInfo = { code: null, signal: null, unexpected: true };
      resolve(exitInfo);
    });
  });

  const server: RunningServer = {
    pid: child.pid ?? -1,
    logPath,
    readyAfterMs: 0,
    exit: () => exitInfo,
    stop: async (signal = "SIGTERM", graceMs = 5_000) => {
      if (exitInfo) return exitInfo;
      stopping = true;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
    logTail: (bytes = 2_000) => {
      try {
        const text = readFileSync(logPath, "utf8");
        return text.slice(-bytes);
      } catch {
        return "";
      }
    },
  };

  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    if (exitInfo) throw new Error(`exited before answering (code ${exitInfo.code}, signal ${exitInfo.signal}): ${server.logTail(600)}`);
    if (await ready()) {
      server.readyAfterMs = Date.now() - spawnedAt;
      return server;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await server.stop("SIGKILL");
  throw new Error(`not ready (127.0.0.1:${port}) within ${readyTimeoutMs} ms: ${server.logTail(600)}`);
}

/** Kills every server still running (SIGKILL): called when the benchmark exits for any reason. */
export function killAllServers(): void {
  for (const child of live) child.kill("SIGKILL");
}

/** True when GET http://127.0.0.1:port/readyz answers 200 (our relay's ops endpoint) within `timeoutMs`. */
export async function answersReadyz(port: number, timeoutMs: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false; // not listening yet
  }
}

/** True when a STUN Binding request to 127.0.0.1:port gets a success answer within `timeoutMs`. */
export function answersBinding(port: number, timeoutMs: number): Promise<boolean> {
  const transactionId = newTransactionId();
  const request = encodeMessage({ type: MessageType.bindingRequest, transactionId, attributes: [] });
  const socket = createSocket("udp4");
  return new Promise((resolve) => {
    const finish = (answered: boolean): void => {
      clearTimeout(timer);
      socket.close();
      resolve(answered);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on("error", () => {
      // ICMP port unreachable while the server is still starting: wait for the timer.
    });
    socket.on("message", (data) => {
      const message = decodeMessage(data);
      if (message?.type === MessageType.bindingSuccess && message.transactionId.equals(transactionId)) finish(true);
    });
    socket.send(request, port, "127.0.0.1");
  });
}
