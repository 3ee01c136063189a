/**
 * Support for the client's cross-component tests (test/client-room.test.ts, test/e2e/demo-*.test.ts):
 * a real `wrangler dev` (worker, Room DOs, demo page) on a fixed loopback port, quiet and offline
 * (TOOLCHAIN.md), and headless Chromium with the fake camera.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Browser } from "playwright-core";

const repoRoot = resolve(import.meta.dirname, "../..");

/** Secrets the client tests run wrangler dev with (test-only values). */
export const CLIENT_TEST_VARS: Record<string, string> = {
  ENVIRONMENT: "development",
  ROOM_TOKEN_SECRET: "client-test-room-token-secret-0123456789",
  TURN_SECRETS: "client-test-turn-secret",
  TURN_NODE_TOKEN: "client-test-node-token",
  API_KEYS: "client-test-api-key",
  ADMIN_TOKEN: "client-test-admin-token",
};

/** A running wrangler dev. */
export interface WranglerDev {
  baseUrl: string;
  /** Stops wrangler (its whole process group) and removes its state directory. */
  stop: () => Promise<void>;
  /** The end of its log, for failure messages. */
  logTail: () => string;
}

/**
 * Starts `wrangler dev` on `port`/`inspectorPort` with a fresh state directory; resolves once /healthz
 * answers. Port 0 lets wrangler pick free ports (the chosen one is read from its "Ready on" line).
 */
export async function startWranglerDev(options: {
  port: number;
  inspectorPort: number;
  vars?: Record<string, string>;
  readyTimeoutMs?: number;
}): Promise<WranglerDev> {
  const workDir = mkdtempSync(join(tmpdir(), "sb-client-test-"));
  mkdirSync(join(workDir, "config"));
  const logFile = join(workDir, "wrangler.log");
  const vars = { ...CLIENT_TEST_VARS, ...options.vars };
  const args = [
    join(repoRoot, "node_modules/wrangler/bin/wrangler.js"),
    "dev",
    "--config",
    join(repoRoot, "wrangler.toml"),
    "--ip",
    "127.0.0.1",
    "--port",
    String(options.port),
    "--inspector-port",
    String(options.inspectorPort),
    "--persist-to",
    join(workDir, "state"),
    "--show-interactive-dev-session=false",
    ...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
  ];
  const log = openSync(logFile, "a");
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: repoRoot,
    detached: true, // its own process group: stop() ends workerd too
    stdio: ["ignore", log, log],
    env: {
      ...process.env,
      PATH: `${join(repoRoot, "node_modules/.bin")}:${process.env.PATH ?? ""}`,
      CI: "true",
      WRANGLER_SEND_METRICS: "false",
      WRANGLER_SEND_ERROR_REPORTS: "false",
      WRANGLER_HIDE_BANNER: "true",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      XDG_CONFIG_HOME: join(workDir, "config"),
    },
  });
  let exited = false;
  const exit = new Promise<void>((resolveExit) =>
    child.once("exit", () => {
      exited = true;
      resolveExit();
    }),
  );
  const logTail = () => {
    try {
      return readFileSync(logFile, "utf8").slice(-3000);
    } catch {
      return "";
    }
  };
  const stop = async () => {
    if (!exited && child.pid !== undefined) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // Already gone.
      }
      await Promise.race([exit, sleep(5000)]);
      if (!exited) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // Already gone.
        }
        await Promise.race([exit, sleep(2000)]);
      }
    }
    rmSync(workDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 90_000);
  let baseUrl = options.port === 0 ? undefined : `http://127.0.0.1:${options.port}`;
  while (Date.now() < deadline) {
    if (exited) {
      const tail = logTail();
      await stop();
      throw new Error(`wrangler dev exited while starting:\n${tail}`);
    }
    baseUrl ??= /Ready on (http:\/\/127\.0\.0\.1:\d+)/.exec(logTail())?.[1];
    if (baseUrl === undefined) {
      await sleep(250);
      continue;
    }
    try {
      const response = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
      await response.body?.cancel();
      if (response.ok) return { baseUrl, stop, logTail };
    } catch {
      // Not listening yet.
    }
    await sleep(250);
  }
  const tail = logTail();
  await stop();
  throw new Error(`wrangler dev did not answer /healthz in time:\n${tail}`);
}

/** Mints a room token through the development-only route `GET /dev/token`. */
export async function devToken(baseUrl: string, room: string, user: string): Promise<string> {
  const response = await fetch(`${baseUrl}/dev/token?room=${encodeURIComponent(room)}&user=${encodeURIComponent(user)}`);
  if (!response.ok) throw new Error(`GET /dev/token answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

/** Chromium launch flags that run WebRTC headless as root with a fake camera (TOOLCHAIN.md). */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
];

/** Launches headless Debian Chromium (playwright gives each launch a fresh temporary profile). */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/** Polls `check` every `intervalMs` until it returns a value, at most `timeoutMs`; throws with `what` otherwise. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let round = 0; Date.now() < deadline && round < 10_000; round++) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`);
}
