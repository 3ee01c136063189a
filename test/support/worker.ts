/**
 * The real worker under `wrangler dev` (Room and Registry Durable Objects with SQLite state in a temporary
 * `--persist-to` directory), quiet and offline (../shared/TOOLCHAIN.md), optionally inside a network
 * namespace. Development-only secrets come in as `--var`, so no `.dev.vars` is read or needed.
 *
 * wrangler runs from a snapshot of the sources taken at start: `wrangler dev` watches its inputs and
 * reloads the worker (dropping every room socket) whenever a file changes, which would turn someone's
 * edit during a test run into a spurious signaling drop; and its build step then writes the demo bundle
 * into the snapshot, not into the shared client/public/build.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { httpGet } from "./http.ts";
import { type ManagedProcess, startProcess } from "./processes.ts";
import { REPO_ROOT, testEnv } from "./repo.ts";
import { eventually } from "./wait.ts";

/** Worker settings of the e2e stack: test-only secrets, development mode for `GET /dev/token`. */
export const E2E_WORKER_VARS: Readonly<Record<string, string>> = {
  ENVIRONMENT: "development",
  ROOM_TOKEN_SECRET: "e2e-room-token-secret-0123456789abcdef",
  TURN_SECRETS: "e2e-turn-secret",
  TURN_NODE_TOKEN: "e2e-node-token",
  API_KEYS: "e2e-api-key",
  ADMIN_TOKEN: "e2e-admin-token",
  TURN_NODE_HOSTS: "",
  // Registry snapshots are reused for this long; 0 makes a node visible to /v1/ice at its first heartbeat.
  ICE_SNAPSHOT_CACHE_SECONDS: "0",
};

/** Options of `startWorker`. */
export interface WorkerOptions {
  /**
   * Port of the worker (from the e2e range 8751-8769). 0 lets wrangler pick a free one, read from its
   * "Ready on" line (not with `netns`).
   */
  port: number;
  /** Port of wrangler's inspector (from 9351-9369, or 0; two wrangler dev on one host collide on the default). */
  inspectorPort: number;
  /** Directory for state, config and the log. Default: a fresh temporary directory that `stop()` removes. */
  workDir?: string;
  /** Settings on top of E2E_WORKER_VARS. */
  vars?: Record<string, string>;
  /**
   * Run inside this network namespace, listening on all of its addresses; `host` is the address browsers
   * use. Without it, wrangler listens on 127.0.0.1.
   */
  netns?: { name: string; host: string };
  /** How long start-up may take (it bundles the worker and builds the demo first), ms. Default 120 000. */
  readyTimeoutMs?: number;
}

/** A running worker. */
export interface RunningWorker {
  /** Origin browsers use, e.g. `http://127.0.0.1:8751`. */
  origin: string;
  /** Origin from the worker's own network namespace over loopback (TURN nodes' `--registry-url`). */
  loopbackOrigin: string;
  /** Settings it runs with. */
  vars: Readonly<Record<string, string>>;
  netns: string | undefined;
  process: ManagedProcess;
  /** Stops wrangler and workerd (SIGINT, as a terminal's Ctrl-C; SIGKILL after 10 s). */
  stop(): Promise<void>;
}

/** What the worker, its build step and its static assets need, copied from the repository. */
const SNAPSHOT_PATHS = ["package.json", "wrangler.toml", "worker", "protocol", "client"];

/** Copies the worker's sources into `dir` (node_modules linked, build output left out). */
function snapshotSources(dir: string): void {
  for (const path of SNAPSHOT_PATHS) {
    cpSync(join(REPO_ROOT, path), join(dir, path), {
      recursive: true,
      filter: (source) => !relative(REPO_ROOT, source).startsWith(join("client", "public", "build")),
    });
  }
  symlinkSync(join(REPO_ROOT, "node_modules"), join(dir, "node_modules"));
}

/** Starts `wrangler dev` and resolves once `/healthz` answers 200. */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  if (options.port === 0 && options.netns) throw new Error("startWorker: port 0 is not supported inside a network namespace");
  const vars = { ...E2E_WORKER_VARS, ...options.vars };
  const ownWorkDir = options.workDir === undefined;
  const workDir = options.workDir ?? mkdtempSync(join(tmpdir(), "sb-worker-"));
  mkdirSync(join(workDir, "config"), { recursive: true });
  const sources = join(workDir, "src");
  snapshotSources(sources);
  const listenIp = options.netns ? "0.0.0.0" : "127.0.0.1";
  const wranglerArgs = [
    join(REPO_ROOT, "node_modules", "wrangler", "bin", "wrangler.js"),
    "dev",
    "--config",
    join(sources, "wrangler.toml"),
    "--ip",
    listenIp,
    "--port",
    String(options.port),
    "--inspector-port",
    String(options.inspectorPort),
    "--persist-to",
    join(workDir, "state"),
    "--show-interactive-dev-session=false",
    ...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
  ];
  const [command, args] = options.netns
    ? ["ip", ["netns", "exec", options.netns.name, process.execPath, ...wranglerArgs]]
    : [process.execPath, wranglerArgs];
  const child = startProcess({
    name: "wrangler",
    command,
    args,
    cwd: sources,
    logFile: join(workDir, "wrangler.log"),
    env: testEnv({ XDG_CONFIG_HOME: join(workDir, "config") }),
  });
  const stop = async () => {
    // SIGINT is what wrangler expects from a terminal: it stops workerd, then exits.
    await child.stop("SIGINT", 10_000);
    if (ownWorkDir) rmSync(workDir, { recursive: true, force: true });
  };
  // With port 0 the port is known once wrangler logs "Ready on http://127.0.0.1:<port>".
  const listeningPort = (): number | undefined => {
    if (options.port !== 0) return options.port;
    const ready = /Ready on http:\/\/127\.0\.0\.1:(\d+)/.exec(child.log());
    return ready ? Number(ready[1]) : undefined;
  };
  let port: number;
  try {
    port = await eventually(
      `wrangler dev to answer http://127.0.0.1:${options.port || "<its chosen port>"}/healthz`,
      async () => {
        const candidate = listeningPort();
        if (candidate === undefined) return undefined;
        const answer = await httpGet(`http://127.0.0.1:${candidate}/healthz`, { netns: options.netns?.name });
        return answer?.status === 200 ? candidate : undefined;
      },
      {
        timeoutMs: options.readyTimeoutMs ?? 120_000,
        intervalMs: 500,
        abortIf: () => (child.hasExited() ? "wrangler dev exited" : undefined),
      },
    );
  } catch (error) {
    const tail = child.logTail();
    await stop();
    throw new Error(`${(error as Error).message}\n--- wrangler log ---\n${tail}`);
  }
  const loopbackOrigin = `http://127.0.0.1:${port}`;
  const origin = options.netns ? `http://${options.netns.host}:${port}` : loopbackOrigin;
  return { origin, loopbackOrigin, vars, netns: options.netns?.name, process: child, stop };
}
