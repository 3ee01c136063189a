/**
 * Child processes of the end-to-end stack (wrangler dev, TURN nodes, helpers inside network namespaces).
 * Each runs detached, leading its own process group, so one signal reaches its children too (wrangler →
 * workerd); its output goes to a log file (never a pipe that could fill and block it). Every process
 * started here is remembered until it exits, and a last-resort `exit` hook SIGKILLs whatever is left, so
 * nothing outlives a test run that crashed or timed out.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

/** How a managed process ended. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** What to start. */
export interface ProcessSpec {
  /** Short name for messages, e.g. "wrangler", "turn-a". */
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** File that receives stdout and stderr (appended). */
  logFile: string;
}

/** A started process. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves once the process has exited (never rejects). */
  readonly exited: Promise<ExitStatus>;
  /** True once it has exited. */
  hasExited(): boolean;
  /** Sends `signal` to its whole process group (no-op once gone). */
  signal(signal: NodeJS.Signals): void;
  /**
   * Sends `signal`, waits up to `timeoutMs` for the exit, then SIGKILLs the group; always SIGKILLs the
   * group at the end, because a leader may exit before its children (wrangler before workerd).
   */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ExitStatus>;
  /** Everything it logged so far. */
  log(): string;
  /** The last `chars` characters of its log, for failure messages. */
  logTail(chars?: number): string;
}

const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous last resort: an uncaught error or a worker shutdown must not leave relays or workerd behind.
  process.once("exit", () => {
    for (const child of live) child.signal("SIGKILL");
  });
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

/** Starts a process in its own process group with output to `spec.logFile`. Throws if it cannot be spawned. */
export function startProcess(spec: ProcessSpec): ManagedProcess {
  installExitHook();
  const fd = openSync(spec.logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(spec.command, spec.args, { cwd: spec.cwd, env: spec.env, stdio: ["ignore", fd, fd], detached: true });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${spec.name}: could not start ${spec.command}`);
  let exitedFlag = false;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once("exit", (code, signal) => {
      exitedFlag = true;
      resolve({ code, signal });
    });
    child.once("error", () => {
      exitedFlag = true;
      resolve({ code: 127, signal: null });
    });
  });
  const log = () => {
    try {
      return readFileSync(spec.logFile, "utf8");
    } catch {
      return "";
    }
  };
  const managed: ManagedProcess = {
    name: spec.name,
    pid,
    logFile: spec.logFile,
    exited,
    hasExited: () => exitedFlag,
    signal: (signal) => signalGroup(pid, signal),
    stop: async (signal = "SIGTERM", timeoutMs = 5000) => {
      if (!exitedFlag) {
        signalGroup(pid, signal);
        const status = await Promise.race([exited, sleep(timeoutMs).then(() => undefined)]);
        if (status === undefined) signalGroup(pid, "SIGKILL");
      }
      const status = await exited;
      signalGroup(pid, "SIGKILL");
      live.delete(managed);
      return status;
    },
    log,
    logTail: (chars = 3000) => log().slice(-chars),
  };
  // Kept until stop(): the group may outlive its leader, and only stop() SIGKILLs the group for sure.
  live.add(managed);
  return managed;
}

/** SIGKILLs every process started here that was not stopped yet (whole process groups) and waits for them. */
export async function killAllProcesses(): Promise<void> {
  await Promise.all([...live].map((child) => child.stop("SIGKILL", 3000)));
}
