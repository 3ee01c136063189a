/**
 * Runs the child processes of `npm start`: prefixes each line of their output with the child's name,
 * notices when one dies, and stops them in a chosen order with a deadline each. Every child runs in its
 * own process group (detached) so a signal reaches its own children too (wrangler → workerd), and so a
 * terminal's Ctrl-C reaches only us: we decide the order (TURN nodes drain first, then the worker).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** What to run. */
export interface ChildSpec {
  /** Short name used as the output prefix, e.g. "wrangler", "turn-1". */
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Signal that asks it to finish cleanly (TURN nodes drain on SIGTERM). */
  stopSignal: NodeJS.Signals;
  /** How long a clean stop may take before SIGKILL, milliseconds. */
  stopTimeoutMs: number;
}

/** A running child. */
export interface RunningChild {
  spec: ChildSpec;
  process: ChildProcess;
  /** Resolves when the process has exited (never rejects). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True once it has exited. */
  hasExited: boolean;
  /** Lines it printed recently, for error reports when it dies during start-up. */
  recentLines: string[];
}

const RECENT_LINES = 30;

/** Starts, watches and stops a set of named children. */
export class Supervisor {
  readonly children: RunningChild[] = [];
  private stopping = false;
  private readonly prefixWidth: number;
  private readonly write: (line: string) => void;
  private readonly onUnexpectedExit: (child: RunningChild, code: number | null, signal: NodeJS.Signals | null) => void;

  constructor(options: {
    prefixWidth: number;
    write?: (line: string) => void;
    onUnexpectedExit: (child: RunningChild, code: number | null, signal: NodeJS.Signals | null) => void;
  }) {
    this.prefixWidth = options.prefixWidth;
    this.write = options.write ?? ((line) => process.stdout.write(`${line}\n`));
    this.onUnexpectedExit = options.onUnexpectedExit;
    // Last resort when we exit without a clean stop (an uncaught error): nothing we started may outlive us.
    process.once("exit", () => this.killAllNow());
  }

  /** Prints one line with the given prefix name. */
  log(name: string, line: string): void {
    this.write(`${name.padEnd(this.prefixWidth)} | ${line}`);
  }

  /** Spawns a child and starts relaying its output. */
  start(spec: ChildSpec): RunningChild {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const running: RunningChild = {
      spec,
      process: child,
      hasExited: false,
      recentLines: [],
      exited: new Promise((resolve) => {
        child.once("exit", (code, signal) => {
          running.hasExited = true;
          resolve({ code, signal });
        });
        // A spawn failure (e.g. ENOENT) emits "error" and no "exit".
        child.once("error", (error) => {
          running.hasExited = true;
          running.recentLines.push(String(error));
          this.log(spec.name, `failed to start: ${error.message}`);
          resolve({ code: 127, signal: null });
        });
      }),
    };
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) => {
        running.recentLines.push(line);
        if (running.recentLines.length > RECENT_LINES) running.recentLines.shift();
        this.log(spec.name, line);
      });
    }
    void running.exited.then(({ code, signal }) => {
      if (!this.stopping) this.onUnexpectedExit(running, code, signal);
    });
    this.children.push(running);
    if (child.pid !== undefined) this.log(spec.name, `started (pid ${child.pid})`);
    return running;
  }

  /** True once stopAll has begun. */
  get isStopping(): boolean {
    return this.stopping;
  }

  /**
   * Stops every child, in the given groups one after the other (names; children not named go last),
   * each with its stop signal and deadline, SIGKILL after the deadline. Resolves when all have exited.
   */
  async stopAll(order: string[][]): Promise<void> {
    this.stopping = true;
    const named = new Set(order.flat());
    const groups = [...order, this.children.filter((child) => !named.has(child.spec.name)).map((child) => child.spec.name)];
    for (const group of groups) {
      const members = this.children.filter((child) => group.includes(child.spec.name) && !child.hasExited);
      await Promise.all(members.map((child) => this.stopChild(child)));
    }
  }

  /** Sends SIGKILL to every child's process group at once (a second Ctrl-C, or our own exit). */
  killAllNow(): void {
    this.stopping = true;
    for (const child of this.children) if (!child.hasExited) signalGroup(child, "SIGKILL");
  }

  private async stopChild(child: RunningChild): Promise<void> {
    this.log(child.spec.name, `stopping (${child.spec.stopSignal}, up to ${Math.round(child.spec.stopTimeoutMs / 1000)} s)`);
    signalGroup(child, child.spec.stopSignal);
    const timer = setTimeout(() => {
      this.log(child.spec.name, "did not stop in time: SIGKILL");
      signalGroup(child, "SIGKILL");
    }, child.spec.stopTimeoutMs);
    const { code, signal } = await child.exited;
    clearTimeout(timer);
    // The leader may exit before the rest of its group (workerd under wrangler): make sure none is left.
    signalGroup(child, "SIGKILL");
    this.log(child.spec.name, `stopped (${signal ?? `exit code ${code}`})`);
  }
}

// Signals the child's whole process group (negative pid: it was spawned detached, so it leads its group).
function signalGroup(child: RunningChild, signal: NodeJS.Signals): void {
  const pid = child.process.pid;
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** Waits for the first of `promise` or `ms`; resolves undefined on timeout. */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
