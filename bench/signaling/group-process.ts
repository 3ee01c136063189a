/**
 * A server the benchmark starts as a child in its own process group (`detached`), so stopping it ends every
 * process it spawned too (wrangler runs esbuild and two workerd processes): SIGTERM to the group, then
 * SIGKILL after a grace. Output goes to a log file whose tail explains a failed start.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";

/** A started process group. */
export interface GroupProcess {
  /** Process id of the leader, which is also the process group id. */
  pid: number;
  logPath: string;
  /** True once the leader has exited. */
  exited(): boolean;
  /** Ends the whole group: SIGTERM, then SIGKILL after `graceMs`; resolves once the leader has exited. */
  stop(graceMs?: number): Promise<void>;
  /** The last `bytes` of the combined stdout/stderr. */
  logTail(bytes?: number): string;
}

const running = new Set<GroupProcess>();

/** Starts `command args` as a new process group, output to `logPath`. */
export function startGroup(command: string, args: string[], logPath: string, env: NodeJS.ProcessEnv): GroupProcess {
  const logFd = openSync(logPath, "w");
  const child: ChildProcess = spawn(command, args, { stdio: ["ignore", logFd, logFd], detached: true, env });
  closeSync(logFd);
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  const pid = child.pid;
  let hasExited = false;
  const exit = new Promise<void>((resolve) => {
    child.once("exit", () => {
      hasExited = true;
      resolve();
    });
    child.once("error", () => {
      hasExited = true;
      resolve();
    });
  });
  const group: GroupProcess = {
    pid,
    logPath,
    exited: () => hasExited,
    stop: async (graceMs = 5_000) => {
      running.delete(group);
      signalGroup(pid, "SIGTERM");
      const timer = setTimeout(() => signalGroup(pid, "SIGKILL"), graceMs);
      await exit;
      clearTimeout(timer);
      // The leader may exit before its children (workerd); make sure nothing of the group is left.
      signalGroup(pid, "SIGKILL");
    },
    logTail: (bytes = 2_000) => {
      try {
        return readFileSync(logPath, "utf8").slice(-bytes);
      } catch {
        return "";
      }
    },
  };
  running.add(group);
  return group;
}

/** SIGKILLs every group still running: for exit paths that cannot await (signals, uncaught errors). */
export function killAllGroups(): void {
  for (const group of running) signalGroup(group.pid, "SIGKILL");
  running.clear();
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}
