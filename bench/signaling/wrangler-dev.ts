/**
 * Starts `wrangler dev` for the benchmark: the bench config (bench/signaling/wrangler.toml: the real worker
 * plus BareRelay) on the brief's fixed ports, quiet and offline (TOOLCHAIN.md), a fresh `--persist-to`
 * directory, and the room limits raised for the run by `--var`. Ready when `GET /healthz` answers 200.
 *
 * The worker is bundled once first (`wrangler deploy --dry-run --outdir`, offline) and dev runs that snapshot
 * with `--no-bundle`: wrangler dev otherwise watches the sources and reloads the runtime — dropping every
 * socket — whenever someone edits worker/ during the run. The snapshot's hash goes into the results.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type GroupProcess, startGroup } from "./group-process.ts";

/** What the benchmark passes to wrangler dev. */
export interface WranglerDevOptions {
  repoRoot: string;
  workDir: string;
  port: number;
  inspectorPort: number;
  /** `--var NAME:value` pairs (the secret is one of them: a fresh random value per run). */
  vars: Record<string, string>;
  readyTimeoutMs: number;
}

/** A running wrangler dev. */
export interface WranglerDev {
  process: GroupProcess;
  baseUrl: string;
  inspectorPort: number;
  /** The commands run, with secret `--var` values masked, for the results file. */
  commandLine: string;
  /** The bundled worker that runs (its source map sits beside it) and its SHA-256. */
  bundlePath: string;
  bundleSha256: string;
}

/** Names whose `--var` value is never printed. */
const SECRET_VARS = new Set(["ROOM_TOKEN_SECRET"]);
const BUNDLE_TIMEOUT_MS = 120_000;

/** Bundles, starts wrangler dev and waits until it answers; throws (after stopping it) when it does not in time. */
export async function startWranglerDev(options: WranglerDevOptions): Promise<WranglerDev> {
  const wrangler = join(options.repoRoot, "node_modules/.bin/wrangler");
  const config = join(options.repoRoot, "bench/signaling/wrangler.toml");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${join(options.repoRoot, "node_modules/.bin")}:${process.env.PATH ?? ""}`,
    CI: "true",
    WRANGLER_SEND_METRICS: "false",
    WRANGLER_SEND_ERROR_REPORTS: "false",
    WRANGLER_HIDE_BANNER: "true",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    XDG_CONFIG_HOME: join(options.workDir, "config"),
  };
  const bundleDir = join(options.workDir, "bundle");
  const bundleArgs = ["deploy", "--dry-run", "--config", config, "--outdir", bundleDir];
  const bundled = spawnSync(wrangler, bundleArgs, { cwd: options.repoRoot, env, encoding: "utf8", timeout: BUNDLE_TIMEOUT_MS });
  if (bundled.status !== 0) {
    throw new Error(
      `wrangler could not bundle the bench worker (exit ${bundled.status}):\n${`${bundled.stdout}${bundled.stderr}`.slice(-1_500)}`,
    );
  }
  const bundlePath = join(bundleDir, "worker.js");
  const bundleSha256 = createHash("sha256").update(readFileSync(bundlePath)).digest("hex");

  const varArgs = Object.entries(options.vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]);
  const devArgs = [
    "dev",
    bundlePath,
    "--no-bundle",
    "--config",
    config,
    "--ip",
    "127.0.0.1",
    "--port",
    String(options.port),
    "--inspector-port",
    String(options.inspectorPort),
    "--persist-to",
    join(options.workDir, "state"),
    "--show-interactive-dev-session=false",
  ];
  const child = startGroup(wrangler, [...devArgs, ...varArgs], join(options.workDir, "wrangler.log"), env);
  const baseUrl = `http://127.0.0.1:${options.port}`;
  const deadline = Date.now() + options.readyTimeoutMs;
  while (Date.now() < deadline) {
    if (child.exited()) throw new Error(`wrangler dev exited while starting:\n${child.logTail(1_500)}`);
    if (await answersHealth(baseUrl)) {
      const shownVars = Object.entries(options.vars).map(([name, value]) => `--var ${name}:${SECRET_VARS.has(name) ? "<random>" : value}`);
      const relative = (path: string) => path.replace(options.repoRoot, "").replace(options.workDir, "$TMP");
      const commandLine = [
        ["wrangler", ...bundleArgs].map(relative).join(" "),
        ["wrangler", ...devArgs, ...shownVars].map(relative).join(" "),
      ].join(" && ");
      return { process: child, baseUrl, inspectorPort: options.inspectorPort, commandLine, bundlePath, bundleSha256 };
    }
    await sleep(250);
  }
  await child.stop();
  throw new Error(`wrangler dev did not answer GET /healthz within ${options.readyTimeoutMs} ms:\n${child.logTail(1_500)}`);
}

async function answersHealth(baseUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}
