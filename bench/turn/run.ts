/**
 * `npm run bench:turn` — our relay vs coturn (one relay thread) vs node-turn 0.0.6, one server at a time on
 * loopback, driven by coturn's turnutils_uclient with the same workloads and flags (issue 3, "Benchmark").
 * Per server and workload, a fresh server process; measures loss %, server CPU seconds (/proc utime+stime),
 * peak RSS (VmHWM), and RSS growth per 1 000 live allocations (own raw-UDP Allocate client).
 *
 * Flags: --quick (short smoke run) · --only ours|ours-dgram|coturn|node-turn · --allocations N · --port-base N ·
 *        --memory-only (allocations only) · --profile (then extra runs of ours under `node --cpu-prof`, one per
 *        workload; top hot functions) · --profile-only · --report FILE (re-render a saved result, measure nothing) ·
 *        --scale-out N (then each workload against N processes of ours sharing the port with --reuse-port) ·
 *        --workload A,B,C (only these workloads, no memory phase).
 * Writes bench/results/turn.json (full run of all three), else turn[-<only>][-memory][-quick].json.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { openAllocations } from "./allocation-load.ts";
import { ensureCoturn } from "./coturn-install.ts";
import { summariseCpuProfile } from "./cpu-profile-summary.ts";
import { type EchoPeer, startEchoPeer } from "./echo-peer.ts";
import { machineInfo } from "./machine-info.ts";
import { findFreePortBlock, type PortBlock } from "./port-block.ts";
import { clockTicksPerSecond, type ProcessSample, sampleProcessTree } from "./process-sample.ts";
import { renderReport } from "./report-table.ts";
import { type AllocationRun, type BenchResults, computeRatios, type ProfileRun, type ServerResult, type WorkloadRun } from "./results.ts";
import { runScaleOut } from "./scale-out.ts";
import { killAllServers, type RunningServer, startServer } from "./server-process.ts";
import { BENCH_USER, OURS_BIN, SERVER_NAMES, type ServerName, serverCommand } from "./server-specs.ts";
import { runUclient, type UclientResult, uclientArgs, uclientTimeoutMs, type Workload } from "./uclient.ts";
import { udpDropsByPort, udpReceiveBufferErrors } from "./udp-drops.ts";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    allocations: { type: "string" },
    "port-base": { type: "string", default: "24000" },
    profile: { type: "boolean", default: false },
    "memory-only": { type: "boolean", default: false },
    "profile-only": { type: "boolean", default: false },
    report: { type: "string" },
    "scale-out": { type: "string" },
    workload: { type: "string" },
  },
});
const quick = values.quick;
if (values.only !== undefined && !SERVER_NAMES.includes(values.only as ServerName)) {
  process.stderr.write(`--only must be one of ${SERVER_NAMES.join(", ")}\n`);
  process.exit(2);
}
const only = values.only as ServerName | undefined;

/**
 * The issue's workloads: (A) bulk 1000-byte messages; (B) WebRTC-like: many small packets every 20 ms; both
 * client-to-client on one server (-y). (C) is B sent to an external echo peer, so every packet crosses the
 * server's relay socket both ways (a relay may short-cut -y traffic between its own allocations; C cannot).
 */
const ALL_WORKLOADS: Workload[] = [
  { id: "A", description: "-y -c -m 50 -n 2000 -l 1000", clients: 50, messages: quick ? 200 : 2000, length: 1000 },
  { id: "B", description: "-y -c -m 200 -n 1000 -l 200 -z 20", clients: 200, messages: quick ? 100 : 1000, length: 200, intervalMs: 20 },
  {
    id: "C",
    description: "-c -m 200 -n 1000 -l 200 -z 20 -e 127.0.0.1 -r PEER (turnutils_peer echo)",
    clients: 200,
    messages: quick ? 100 : 1000,
    length: 200,
    intervalMs: 20,
    externalPeer: true,
  },
];
const selectedIds = values.workload?.split(",").map((id) => id.trim().toUpperCase());
if (selectedIds?.some((id) => !ALL_WORKLOADS.some((workload) => workload.id === id))) {
  process.stderr.write(`--workload takes a comma list of ${ALL_WORKLOADS.map((workload) => workload.id).join(", ")}\n`);
  process.exit(2);
}
const WORKLOADS = selectedIds ? ALL_WORKLOADS.filter((workload) => selectedIds.includes(workload.id)) : ALL_WORKLOADS;
/** The allocation-memory phase runs unless workloads were picked with --workload. */
const measureMemory = selectedIds === undefined;
const ALLOCATIONS = Number(values.allocations ?? (quick ? 200 : 1000));
const WARM_UP_ALLOCATIONS = 20;
const READY_TIMEOUT_MS = 15_000;
const MiB = 1024;

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const workDir = mkdtempSync(join(tmpdir(), "bench-turn-"));
const ticks = clockTicksPerSecond();
/** Server logs are kept (and their folder printed) only when some run did not end "ok". */
let keepLogs = false;

// Whatever happens, no server outlives the benchmark.
process.on("exit", killAllServers);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    killAllServers();
    process.exit(130);
  });
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

function cpuSeconds(before: ProcessSample, after: ProcessSample, field: "cpuTicks" | "userTicks" | "systemTicks" = "cpuTicks"): number {
  return Math.round(((after[field] - before[field]) / ticks) * 100) / 100;
}

function mib(kib: number): number {
  return Math.round((kib / MiB) * 10) / 10;
}

/** Samples a server every second so CPU and peak memory survive a crash mid-run. */
function watch(server: RunningServer): { last(): ProcessSample | undefined; stop(): void } {
  let last: ProcessSample | undefined;
  const take = (): void => {
    if (server.exit()) return;
    const sample = sampleProcessTree(server.pid);
    if (sample.processes > 0) last = sample;
  };
  take();
  const timer = setInterval(take, 1_000);
  return {
    last: () => {
      take();
      return last;
    },
    stop: () => clearInterval(timer),
  };
}

/** git HEAD and a SHA-256 over turn-server/'s non-test sources, so a result names the code it measured. */
function oursSource(): BenchResults["oursSource"] {
  const head = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: repoRoot, encoding: "utf8", timeout: 5_000 });
  const hash = createHash("sha256");
  const root = join(repoRoot, "turn-server");
  const files = readdirSync(root, { recursive: true, encoding: "utf8" })
    .filter((file) => /\.(ts|js|c)$/.test(file) && !file.endsWith(".test.ts"))
    .sort();
  for (const file of files) hash.update(file).update(readFileSync(join(root, file)));
  return { gitHead: head.stdout.trim() || "unknown", sourceSha256: hash.digest("hex").slice(0, 16) };
}

/** The first two lines a failed child printed, on one line. */
function firstLines(result: { stderr: string; stdout: string }): string {
  return (result.stderr || result.stdout || "").trim().split("\n").slice(0, 2).join(" ");
}

/** Why `ours` cannot run yet (bin missing or its --help failing; for ours, the UDP addon not building), or null when it can. */
function oursUnavailable(name: "ours" | "ours-dgram"): string | null {
  const help = spawnSync(process.execPath, [OURS_BIN, "--help"], { encoding: "utf8", timeout: 10_000 });
  if (help.status !== 0) {
    return `\`node turn-server/bin/switchboard-turn.js --help\` failed (exit ${help.status ?? help.signal}): ${firstLines(help)}`;
  }
  if (name === "ours") {
    const build = spawnSync(process.execPath, [join(repoRoot, "scripts/build-native.ts")], { encoding: "utf8", timeout: 120_000 });
    if (build.status !== 0) return `npm run build:native failed: ${firstLines(build)}`;
  }
  return null;
}

/** Runs uclient for `workload` against the server on `ports`, with the echo peer the workload needs. */
async function driveWorkload(workload: Workload, ports: PortBlock): Promise<UclientResult> {
  const args = uclientArgs(workload, ports.listeningPort, BENCH_USER.username, BENCH_USER.password, ports.peerPort);
  let peer: EchoPeer | undefined;
  if (workload.externalPeer) {
    try {
      peer = await startEchoPeer(ports.peerPort, 10_000);
    } catch (error) {
      return { status: "no-summary", exitCode: null, wallSeconds: 0, outputTail: `echo peer: ${(error as Error).message}` };
    }
  }
  try {
    const bufferErrorsBefore = udpReceiveBufferErrors();
    const dropsBefore = udpDropsByPort();
    const result = await runUclient(args, uclientTimeoutMs(workload));
    // Read before the peer and the server close their sockets (their drop counts go with them).
    const dropsAfter = udpDropsByPort();
    const delta = (port: number): number => (dropsAfter.get(port) ?? 0) - (dropsBefore.get(port) ?? 0);
    let serverRelays = 0;
    for (let port = ports.minRelayPort; port <= ports.maxRelayPort; port += 1) serverRelays += delta(port);
    result.kernelDrops = {
      total: udpReceiveBufferErrors() - bufferErrorsBefore,
      serverListener: delta(ports.listeningPort),
      serverRelays,
      echoPeer: workload.externalPeer ? delta(ports.peerPort) : 0,
    };
    return result;
  } finally {
    await peer?.stop();
  }
}

async function runWorkload(name: ServerName, workload: Workload, ports: PortBlock): Promise<WorkloadRun> {
  const args = uclientArgs(workload, ports.listeningPort, BENCH_USER.username, BENCH_USER.password, ports.peerPort);
  let server: RunningServer;
  try {
    server = await startServer(
      serverCommand(name, ports),
      ports.listeningPort,
      join(workDir, `${name}-${workload.id}.log`),
      READY_TIMEOUT_MS,
    );
  } catch (error) {
    return { status: "start-failed", uclientArgs: args, note: (error as Error).message.slice(0, 300) };
  }
  await sleep(500);
  const monitor = watch(server);
  const before = monitor.last();
  const loadAverage1m = Math.round((loadavg()[0] ?? 0) * 100) / 100;
  const uclient = await driveWorkload(workload, ports);
  const after = monitor.last();
  monitor.stop();
  const exit = server.exit();
  await server.stop();
  const run: WorkloadRun = {
    status: exit ? "crashed" : uclient.status,
    uclientArgs: args,
    wallSeconds: Math.round(uclient.wallSeconds * 10) / 10,
    loadAverage1m,
  };
  if (uclient.kernelDrops) run.kernelDrops = uclient.kernelDrops;
  for (const key of ["lossPercent", "sent", "received", "lostPackets", "sendDropped", "avgRttMs", "maxRttMs", "avgJitterMs"] as const) {
    if (uclient[key] !== undefined) run[key] = uclient[key];
  }
  if (before && after) {
    run.cpuSeconds = cpuSeconds(before, after);
    run.cpuUserSeconds = cpuSeconds(before, after, "userTicks");
    run.cpuSystemSeconds = cpuSeconds(before, after, "systemTicks");
    run.peakRssMiB = mib(after.peakRssKiB);
    run.idleRssMiB = mib(before.rssKiB);
  }
  if (exit) run.note = `server exited (code ${exit.code}, signal ${exit.signal}) during the run; ${lastErrorLine(server.logTail(3_000))}`;
  else if (uclient.status !== "ok") {
    const serverErrors = errorLines(server.logTail(20_000));
    run.note = `uclient ${uclient.status} (exit ${uclient.exitCode}): ${uclient.outputTail.split("\n").slice(-2).join(" ").trim()}${serverErrors ? `; server log: ${serverErrors}` : ""}`;
  }
  return run;
}

async function runAllocations(name: ServerName, ports: PortBlock): Promise<AllocationRun> {
  const empty: AllocationRun = { status: "start-failed", requested: ALLOCATIONS, opened: 0, failures: {} };
  let server: RunningServer;
  try {
    server = await startServer(serverCommand(name, ports), ports.listeningPort, join(workDir, `${name}-allocations.log`), READY_TIMEOUT_MS);
  } catch (error) {
    return { ...empty, note: (error as Error).message.slice(0, 300) };
  }
  const client = { host: "127.0.0.1", port: ports.listeningPort, username: BENCH_USER.username, password: BENCH_USER.password };
  // Warm up first (code paths, JIT, first-use buffers), so the measured growth is per allocation.
  const warmUp = await openAllocations({ ...client, count: WARM_UP_ALLOCATIONS });
  await sleep(1_000);
  const base = sampleProcessTree(server.pid);
  const started = Date.now();
  const hold = await openAllocations({ ...client, count: ALLOCATIONS, totalTimeoutMs: 180_000 });
  const setupSeconds = (Date.now() - started) / 1000;
  // Let the server settle (timers, GC) before reading its resident set.
  await sleep(3_000);
  const after = sampleProcessTree(server.pid);
  const exit = server.exit();
  hold.release();
  warmUp.release();
  await server.stop();
  const run: AllocationRun = {
    status: exit ? "crashed" : hold.result.opened === ALLOCATIONS ? "ok" : "partial",
    requested: ALLOCATIONS,
    opened: hold.result.opened,
    failures: hold.result.failures,
    setupSeconds: Math.round(setupSeconds * 100) / 100,
  };
  if (!exit && after.processes > 0) {
    run.baselineRssMiB = mib(base.rssKiB);
    run.afterRssMiB = mib(after.rssKiB);
    run.cpuSeconds = cpuSeconds(base, after);
    if (hold.result.opened > 0)
      run.rssPer1kAllocationsMiB = Math.round(((after.rssKiB - base.rssKiB) / MiB / hold.result.opened) * 1000 * 100) / 100;
  }
  if (warmUp.result.opened < WARM_UP_ALLOCATIONS) run.note = `warm-up opened ${warmUp.result.opened}/${WARM_UP_ALLOCATIONS}`;
  if (exit) run.note = `server exited (code ${exit.code}, signal ${exit.signal}); ${lastErrorLine(server.logTail(3_000))}`;
  return run;
}

/** Our relay under `node --cpu-prof` for one workload; returns the summary of the profile it writes at exit. */
async function profileOurs(workload: Workload, ports: PortBlock): Promise<ProfileRun> {
  const profileDir = join(workDir, `cpu-profile-${workload.id}`);
  mkdirSync(profileDir, { recursive: true });
  const exitHook = fileURLToPath(new URL("./profile-exit.ts", import.meta.url));
  const command = serverCommand("ours", ports, { nodeFlags: ["--cpu-prof", "--cpu-prof-dir", profileDir, "--import", exitHook] });
  let server: RunningServer;
  try {
    server = await startServer(command, ports.listeningPort, join(workDir, `ours-profile-${workload.id}.log`), READY_TIMEOUT_MS);
  } catch (error) {
    return { workload: workload.id, error: (error as Error).message.slice(0, 300) };
  }
  const uclient = await driveWorkload(workload, ports);
  await server.stop("SIGUSR2", 15_000);
  const file = readdirSync(profileDir).find((entry) => entry.endsWith(".cpuprofile"));
  if (!file) return { workload: workload.id, error: "no .cpuprofile written (did the server exit through process.exit on SIGUSR2?)" };
  // Kept outside the work dir (removed at exit) for a look in Chrome DevTools; too large for bench/results.
  const kept = join(tmpdir(), `switchboard-turn-ours-${workload.id}.cpuprofile`);
  copyFileSync(join(profileDir, file), kept);
  // Start-up (module loading, type stripping) is left out: a relay pays it once, not per packet.
  return {
    workload: workload.id,
    uclientStatus: uclient.status,
    cpuProfile: kept,
    summary: summariseCpuProfile(kept, 15, server.readyAfterMs),
  };
}

/** The first distinct error lines of a server log, or "" when there are none. */
function errorLines(logText: string): string {
  const lines = logText.split("\n").filter((line) => /error|exception/i.test(line) && !/"level":"info"/.test(line));
  const distinct = [...new Set(lines.map((line) => line.trim()))];
  return distinct.slice(0, 2).join(" | ").slice(0, 300);
}

/** What a crashed server printed last: its error lines, else its last lines. */
function lastErrorLine(logText: string): string {
  return errorLines(logText) || logText.split("\n").slice(-3).join(" ").slice(0, 300);
}

/** Recomputes the ratios of `results` and prints the tables and profile summaries. */
function printReport(results: BenchResults): void {
  const workloadIds = WORKLOADS.map((workload) => workload.id);
  results.ratios = computeRatios(results.servers, workloadIds);
  log("");
  log(renderReport(results, workloadIds));
  for (const profile of results.profiles ?? []) {
    if (!profile.summary) {
      log(`\nprofile of workload ${profile.workload}: ${profile.error}`);
      continue;
    }
    log(
      `\nours, workload ${profile.workload} under --cpu-prof (uclient ${profile.uclientStatus}), hottest functions (self time, % of busy):`,
    );
    for (const spot of profile.summary.functions) log(`  ${spot.percent.toFixed(1).padStart(5)} %  ${spot.name}`);
    log("  by file:");
    for (const spot of profile.summary.files.slice(0, 8)) log(`  ${spot.percent.toFixed(1).padStart(5)} %  ${spot.name}`);
  }
}

/** --report FILE: re-renders a saved result (ratios recomputed and written back), measuring nothing. */
function reportOnly(path: string): void {
  const results = JSON.parse(readFileSync(path, "utf8")) as BenchResults;
  printReport(results);
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}

async function main(): Promise<void> {
  if (values.report) return reportOnly(values.report);
  const coturnVersion = ensureCoturn();
  const machine = machineInfo(coturnVersion);
  const ports = findFreePortBlock(Number(values["port-base"]), Math.max(ALLOCATIONS * 2, 2048));
  const names = only ? [only] : [...SERVER_NAMES];
  log(
    `TURN relay benchmark${quick ? " (quick)" : ""}: ${names.join(", ")} · ${machine.nproc} cores ${machine.cpuModel} · Node ${machine.node} · coturn ${coturnVersion}`,
  );
  log(`ports: listening ${ports.listeningPort}, relay ${ports.minRelayPort}-${ports.maxRelayPort}; logs in ${workDir}`);

  const results: BenchResults = {
    benchmark: "turn",
    quick,
    machine,
    clockTicksPerSecond: ticks,
    oursSource: oursSource(),
    servers: {},
    ratios: [],
  };
  for (const name of values["profile-only"] ? [] : names) {
    const command = serverCommand(name, ports);
    const result: ServerResult = {
      command: [command.command === process.execPath ? "node" : command.command, ...command.args].join(" ").replace(repoRoot, ""),
      workloads: {},
      allocations: { status: "skipped", requested: ALLOCATIONS, opened: 0, failures: {} },
    };
    results.servers[name] = result;
    const unavailable = name === "ours" || name === "ours-dgram" ? oursUnavailable(name) : null;
    if (unavailable) {
      log(`${name}: skipped — ${unavailable}`);
      for (const workload of WORKLOADS) {
        result.workloads[workload.id] = { status: "skipped", uclientArgs: [], note: unavailable };
      }
      result.allocations.note = unavailable;
      continue;
    }
    for (const workload of values["memory-only"] ? [] : WORKLOADS) {
      log(`${name}: workload ${workload.id} (${workload.clients} clients × ${workload.messages} messages of ${workload.length} B) …`);
      const run = await runWorkload(name, workload, ports);
      result.workloads[workload.id] = run;
      if (run.status !== "ok") keepLogs = true;
      log(
        `  ${run.status}: loss ${run.lossPercent ?? "–"} %, CPU ${run.cpuSeconds ?? "–"} s, peak RSS ${run.peakRssMiB ?? "–"} MiB${run.note ? ` — ${run.note}` : ""}`,
      );
      await sleep(1_000);
    }
    if (!measureMemory) continue;
    log(`${name}: ${ALLOCATIONS} live allocations …`);
    result.allocations = await runAllocations(name, ports);
    const alloc = result.allocations;
    if (alloc.status !== "ok") keepLogs = true;
    log(
      `  ${alloc.status}: opened ${alloc.opened}/${alloc.requested}, RSS growth ${alloc.rssPer1kAllocationsMiB ?? "–"} MiB per 1 000${alloc.note ? ` — ${alloc.note}` : ""}`,
    );
    await sleep(1_000);
  }

  const scaleOut = Number(values["scale-out"] ?? 0);
  if (scaleOut > 1 && names.includes("ours") && results.servers.ours?.workloads.B?.status !== "skipped") {
    results.scaleOut = [];
    for (const workload of WORKLOADS) {
      log(`ours × ${scaleOut} processes (--reuse-port): workload ${workload.id} …`);
      const run = await runScaleOut(scaleOut, workload, ports, workDir, READY_TIMEOUT_MS, ticks, () => driveWorkload(workload, ports));
      results.scaleOut.push(run);
      if (run.status !== "ok") keepLogs = true;
      log(
        `  ${run.status}: loss ${run.lossPercent ?? "–"} %, CPU ${run.cpuSeconds ?? "–"} s (${run.perProcessCpuSeconds?.join(" + ") ?? "–"})${run.note ? ` — ${run.note}` : ""}`,
      );
      await sleep(1_000);
    }
  }

  if ((values.profile || values["profile-only"]) && names.includes("ours") && results.servers.ours?.workloads.B?.status !== "skipped") {
    results.profiles = [];
    for (const workload of WORKLOADS) {
      log(`ours: profiling workload ${workload.id} under node --cpu-prof …`);
      results.profiles.push(await profileOurs(workload, ports));
    }
  }

  printReport(results);

  const suffix = [
    only,
    values["memory-only"] ? "memory" : undefined,
    values["profile-only"] ? "profile" : undefined,
    selectedIds ? `workload-${selectedIds.join("")}` : undefined,
    quick ? "quick" : undefined,
  ]
    .filter((part) => part !== undefined)
    .map((part) => `-${part}`)
    .join("");
  const outPath = join(repoRoot, "bench/results", `turn${suffix}.json`);
  mkdirSync(join(repoRoot, "bench/results"), { recursive: true });
  writeFileSync(outPath, `${JSON.stringify(results, null, 2)}\n`);
  log(`\nwrote ${outPath.replace(repoRoot, "")}`);
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`bench:turn failed: ${(error as Error).message}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    killAllServers();
    if (keepLogs) log(`server logs kept in ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true, maxRetries: 2 });
  });
