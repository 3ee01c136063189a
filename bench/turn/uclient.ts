/**
 * Runs coturn's load client `turnutils_uclient` against a server and parses its closing summary:
 *   "tot_send_msgs=N, tot_recv_msgs=M", "Total lost packets L (P%), total send dropped D (Q%)",
 *   "Average round trip delay R ms; min = a ms, max = b ms", "Average jitter J ms; …".
 * Every run is bounded by a timeout; a run that times out or ends without a summary is reported as such.
 */
import { spawn } from "node:child_process";

/**
 * One uclient workload: UDP to the server, no RTCP allocations (-c), and either client-to-client through
 * two allocations on the same server (-y) or to an external echo peer (turnutils_peer, -e/-r).
 */
export interface Workload {
  id: string;
  description: string;
  /** Send to an external echo peer instead of client-to-client (-y). */
  externalPeer?: boolean;
  /** -m: concurrent clients (allocations). */
  clients: number;
  /** -n: messages each client sends. */
  messages: number;
  /** -l: message length, bytes. */
  length: number;
  /** -z: per-session packet interval, ms (uclient's default is 20 when absent). */
  intervalMs?: number;
}

/** Datagrams the kernel dropped for want of receive buffer during a run, by whose socket. */
export interface KernelDrops {
  /** Machine-wide RcvbufErrors delta (includes uclient's own sockets, and anyone else's). */
  total: number;
  /** The server's listening socket. */
  serverListener: number;
  /** The server's relay sockets (the relay port range). */
  serverRelays: number;
  /** The external echo peer's socket. */
  echoPeer: number;
}

/** Parsed outcome of one uclient run. */
export interface UclientResult {
  /** ok: summary printed; timeout: killed at the deadline; no-summary: exited without one. */
  status: "ok" | "timeout" | "no-summary";
  exitCode: number | null;
  sent?: number;
  received?: number;
  lostPackets?: number;
  lossPercent?: number;
  sendDropped?: number;
  avgRttMs?: number;
  maxRttMs?: number;
  avgJitterMs?: number;
  wallSeconds: number;
  /** Kernel UDP drops seen when uclient ended (filled in by the caller, who knows the ports). */
  kernelDrops?: KernelDrops;
  /** Last lines of output, for the record when something went wrong. */
  outputTail: string;
}

/** uclient's arguments for `workload` against 127.0.0.1:port with the given credentials (and echo peer port). */
export function uclientArgs(workload: Workload, port: number, username: string, password: string, peerPort: number): string[] {
  const peer = workload.externalPeer ? ["-e", "127.0.0.1", "-r", String(peerPort)] : ["-y"];
  const args = [...peer, "-c", "-m", String(workload.clients), "-n", String(workload.messages), "-l", String(workload.length)];
  if (workload.intervalMs !== undefined) args.push("-z", String(workload.intervalMs));
  args.push("-u", username, "-w", password, "-p", String(port), "127.0.0.1");
  return args;
}

/** A generous bound for one run: uclient needs about messages × interval plus setup and its drain wait. */
export function uclientTimeoutMs(workload: Workload): number {
  return Math.max(90_000, workload.messages * (workload.intervalMs ?? 20) * 4 + 60_000);
}

/** uclient prints progress every second while it works; this long without output means it is stuck. */
const STALL_MS = 60_000;

/** Runs uclient with `args`, kills it at `timeoutMs` or after STALL_MS without output, and parses what it printed. */
export function runUclient(args: string[], timeoutMs: number): Promise<UclientResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn("turnutils_uclient", args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let lastOutputAt = Date.now();
    const collect = (chunk: Buffer): void => {
      lastOutputAt = Date.now();
      output += chunk.toString("utf8");
      // Keep memory bounded: only the summary at the end matters.
      if (output.length > 200_000) output = output.slice(-100_000);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    const stallCheck = setInterval(() => {
      if (Date.now() - lastOutputAt < STALL_MS) return;
      timedOut = true;
      output += `\n(benchmark: no output for ${STALL_MS / 1000} s, killed)`;
      child.kill("SIGKILL");
    }, 1_000);
    const finish = (exitCode: number | null): void => {
      clearTimeout(timer);
      clearInterval(stallCheck);
      const parsed = parseUclientOutput(output);
      const status = timedOut ? "timeout" : parsed.lossPercent === undefined ? "no-summary" : "ok";
      resolve({
        ...parsed,
        status,
        exitCode,
        wallSeconds: (Date.now() - started) / 1000,
        outputTail: output.split("\n").slice(-8).join("\n"),
      });
    };
    child.once("error", () => finish(null));
    child.once("close", (code) => finish(code));
  });
}

/** Extracts the summary numbers from uclient's output (the last occurrence of each line wins). */
export function parseUclientOutput(output: string): Omit<UclientResult, "status" | "exitCode" | "wallSeconds" | "outputTail"> {
  const result: Omit<UclientResult, "status" | "exitCode" | "wallSeconds" | "outputTail"> = {};
  for (const line of output.split("\n")) {
    let match = /start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/.exec(line);
    if (match) {
      result.sent = Number(match[1]);
      result.received = Number(match[2]);
    }
    match = /Total lost packets (\d+) \(([\d.]+)%\), total send dropped (\d+)/.exec(line);
    if (match) {
      result.lostPackets = Number(match[1]);
      result.lossPercent = Number(match[2]);
      result.sendDropped = Number(match[3]);
    }
    match = /Average round trip delay ([\d.]+) ms; min = [\d.]+ ms, max = ([\d.]+) ms/.exec(line);
    if (match) {
      result.avgRttMs = Number(match[1]);
      result.maxRttMs = Number(match[2]);
    }
    match = /Average jitter ([\d.]+) ms/.exec(line);
    if (match) result.avgJitterMs = Number(match[1]);
  }
  return result;
}
