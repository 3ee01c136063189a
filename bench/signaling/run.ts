/**
 * `npm run bench:signaling` — issue 2, "Benchmark": one harness, one run, three targets:
 *   room   — the real worker's Room Durable Object (worker/, unchanged), via bench/signaling/worker.ts;
 *   bare   — BareRelay, a Durable Object that only forwards frames: the platform's floor, same workerd;
 *   peerjs — PeerJS server (npm `peer`) on loopback, for reference.
 * Workloads: (1) A→B latency one frame at a time, (2) burst throughput, (3) fan-out 1→15 in a 16-peer room,
 * (4) scale: 1 000 sockets in 100 rooms, every frame delivered exactly once. Rounds of (1)–(3) alternate
 * between targets so that load from other work on the machine falls on all of them alike.
 *
 * After the measured workloads (full runs, or --profile), one extra burst per DO target runs under the V8
 * profiler of the worker isolate, to show where the Room's time goes (cpu-profile.ts); it is never measured.
 *
 * Flags: --quick (short smoke run) · --profile (also profile a quick run) · --targets room,bare,peerjs ·
 * --workloads latency,fanout,scale (subsets for development; results then go to a -partial file; "latency"
 * includes the burst, which reuses its pairs).
 * Writes bench/results/signaling.json (signaling-quick.json with --quick). Exits non-zero only when the
 * harness itself fails; an unavailable target or a failed workload is reported, not fatal.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type BenchClient, closeAll, openGroup } from "./bench-client.ts";
import { burstRound } from "./burst.ts";
import { InspectorSession, summariseProfile } from "./cpu-profile.ts";
import { type FanoutRoom, fanoutRound } from "./fanout.ts";
import { type GroupProcess, killAllGroups } from "./group-process.ts";
import { latencyRound, type Pair } from "./latency.ts";
import { loadAverageLine, machineInfo, oneMinuteLoad } from "./machine.ts";
import { PEERJS_KEY, startPeerJs } from "./peerjs-process.ts";
import { groupCpuMs } from "./process-cpu.ts";
import { receipt } from "./receipt.ts";
import { renderReport } from "./report.ts";
import { computeRatios, type SignalingResults, type TargetResult } from "./results.ts";
import { runScale, type ScaleSettings } from "./scale.ts";
import { median, summarise } from "./stats.ts";
import {
  bareDialect,
  benchData,
  type Dialect,
  peerJsDialect,
  roomDialect,
  TARGET_LABELS,
  TARGET_NAMES,
  type TargetName,
} from "./targets.ts";
import { startWranglerDev, type WranglerDev } from "./wrangler-dev.ts";

/** Fixed ports from the brief (wrangler dev; its inspector). PeerJS takes port 0. */
const WRANGLER_PORT = 8711;
const INSPECTOR_PORT = 9311;

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    targets: { type: "string" },
    workloads: { type: "string" },
    profile: { type: "boolean" },
  },
});
const WORKLOADS = ["latency", "fanout", "scale"] as const;
const workloads = values.workloads === undefined ? [...WORKLOADS] : WORKLOADS.filter((name) => values.workloads?.split(",").includes(name));
const partial = values.targets !== undefined || values.workloads !== undefined;
const quick = values.quick;
const selected: TargetName[] =
  values.targets === undefined ? [...TARGET_NAMES] : TARGET_NAMES.filter((name) => values.targets?.split(",").includes(name));
if (selected.length === 0 || workloads.length === 0) {
  process.stderr.write(`--targets takes a comma list of ${TARGET_NAMES.join(", ")}; --workloads of ${WORKLOADS.join(", ")}\n`);
  process.exit(2);
}

/** Workload sizes and bounds (full run per the issue; --quick a smoke run). */
const SETTINGS = {
  // Many short rounds, rotating the targets, so load that shifts within seconds falls on every target alike.
  latency: { rounds: quick ? 4 : 20, warmUpFrames: quick ? 5 : 10, measuredFrames: quick ? 50 : 100, frameTimeoutMs: 10_000 },
  burst: { rounds: quick ? 1 : 3, frames: quick ? 1_000 : 5_000, timeoutMs: 120_000 },
  fanout: {
    peers: 16,
    rounds: quick ? 4 : 10,
    warmUpBroadcasts: quick ? 3 : 5,
    measuredBroadcasts: quick ? 15 : 50,
    broadcastTimeoutMs: 10_000,
  },
  scale: {
    rooms: quick ? 10 : 100,
    peersPerRoom: 10,
    framesPerPeer: quick ? 5 : 20,
    connectConcurrency: 20,
    connectTimeoutMs: 30_000,
    deliveryTimeoutMs: quick ? 60_000 : 300_000,
    stallTimeoutMs: 30_000,
    settleMs: 500,
  } satisfies ScaleSettings,
  /** Room limits raised for the run (`--var`): the workloads must measure relay, not refusals. */
  roomVars: { RATE_LIMIT_PER_SECOND: "1000000", RATE_LIMIT_BURST: "1000000", MAX_QUEUE_PER_PEER: "100000" },
  profile: { enabled: values.profile ?? !quick, frames: quick ? 1_000 : 5_000, samplingIntervalUs: 100 },
  connectTimeoutMs: 30_000,
  serverReadyTimeoutMs: 90_000,
  /** The whole run is killed after this (every loop below is bounded too; this is the last resort). */
  hardLimitMs: quick ? 10 * 60_000 : 45 * 60_000,
};

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const runId = Date.now().toString(36);

/** A target being measured: how to talk to it and which process group serves it (for CPU accounting). */
interface LiveTarget {
  name: TargetName;
  dialect: Dialect;
  serverPgid: number;
  result: TargetResult;
}

process.once("SIGINT", () => abort("interrupted", 130));
process.once("SIGTERM", () => abort("terminated", 143));
const watchdog = setTimeout(() => abort(`hard time limit of ${SETTINGS.hardLimitMs / 60_000} min reached`, 1), SETTINGS.hardLimitMs);

function abort(why: string, code: number): void {
  process.stderr.write(`bench:signaling: ${why}; stopping servers\n`);
  killAllGroups();
  process.exit(code);
}

function log(text: string): void {
  process.stdout.write(`${text}\n`);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `items` rotated by `by`: each round starts with another target, so none is always measured first. */
function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = items.length === 0 ? 0 : by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

async function main(): Promise<number> {
  const workDir = mkdtempSync(join(tmpdir(), "bench-signaling-"));
  const startedAt = new Date().toISOString();
  const loadBefore = loadAverageLine();
  let maxLoad = oneMinuteLoad(loadBefore);
  const loadSampler = setInterval(() => {
    maxLoad = Math.max(maxLoad, oneMinuteLoad(loadAverageLine()));
  }, 5_000);
  const results: TargetResult[] = selected.map((name) => ({ target: name, label: TARGET_LABELS[name], available: false, errors: {} }));
  const resultOf = (name: TargetName) => results.find((result) => result.target === name) as TargetResult;
  const servers: GroupProcess[] = [];
  const live: LiveTarget[] = [];
  let wrangler: WranglerDev | undefined;
  const notes: string[] = [];
  let keepWorkDir = false;
  let profile: SignalingResults["profile"];

  try {
    log(`bench:signaling ${quick ? "--quick " : ""}run ${runId}; load average ${loadBefore}`);
    if (selected.includes("room") || selected.includes("bare")) {
      const secret = randomBytes(32).toString("base64url");
      try {
        wrangler = await startWranglerDev({
          repoRoot,
          workDir,
          port: WRANGLER_PORT,
          inspectorPort: INSPECTOR_PORT,
          vars: { ENVIRONMENT: "bench", ROOM_TOKEN_SECRET: secret, ...SETTINGS.roomVars },
          readyTimeoutMs: SETTINGS.serverReadyTimeoutMs,
        });
        servers.push(wrangler.process);
        log(`wrangler dev ready at ${wrangler.baseUrl} (process group ${wrangler.process.pid})`);
        if (selected.includes("room")) live.push(liveTarget(resultOf("room"), roomDialect(wrangler.baseUrl, secret), wrangler.process.pid));
        if (selected.includes("bare")) live.push(liveTarget(resultOf("bare"), bareDialect(wrangler.baseUrl), wrangler.process.pid));
      } catch (error) {
        keepWorkDir = true;
        for (const name of ["room", "bare"] as const)
          if (selected.includes(name)) resultOf(name).unavailableReason = `wrangler dev did not start: ${message(error)}`;
      }
    }
    if (selected.includes("peerjs")) {
      try {
        const peerjs = await startPeerJs(repoRoot, workDir, SETTINGS.serverReadyTimeoutMs);
        servers.push(peerjs.process);
        log(`PeerJS server ready on 127.0.0.1:${peerjs.port}`);
        live.push(liveTarget(resultOf("peerjs"), peerJsDialect(peerjs.port, PEERJS_KEY), peerjs.process.pid));
      } catch (error) {
        resultOf("peerjs").unavailableReason = `PeerJS server did not start: ${message(error)}`;
      }
    }

    const available: LiveTarget[] = [];
    for (const target of live) {
      const problem = await probe(target.dialect);
      if (problem === undefined) {
        target.result.available = true;
        available.push(target);
      } else {
        target.result.unavailableReason = problem;
      }
      log(`${target.name}: ${problem === undefined ? "available" : `UNAVAILABLE — ${problem}`}`);
    }

    if (available.length > 0) {
      if (workloads.includes("latency")) await latencyAndBurst(available);
      if (workloads.includes("fanout")) await fanout(available);
      if (workloads.includes("scale")) for (const target of available) await scale(target);
    }
    if (wrangler && SETTINGS.profile.enabled) {
      profile = await profileBursts(wrangler, available);
    }
  } finally {
    clearInterval(loadSampler);
    for (const server of servers) await server.stop();
    const wranglerLog = wrangler?.process.logTail(4_000) ?? "";
    if (/\[ERROR\]|"level":"error"|Uncaught/i.test(wranglerLog)) {
      keepWorkDir = true;
      notes.push(`wrangler dev logged errors; see ${join(workDir, "wrangler.log")}`);
    }
    if (keepWorkDir) log(`logs kept in ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }

  const loadAfter = loadAverageLine();
  const machine = machineInfo(repoRoot);
  maxLoad = Math.max(maxLoad, oneMinuteLoad(loadAfter));
  const busy = maxLoad > machine.nproc * 0.75;
  notes.push(
    "Room and BareRelay run in the same workerd of one `wrangler dev`; wrangler dev's entry workerd (its proxy) sits in front of both alike.",
    "Server CPU is the whole process group's utime+stime (/proc) per relayed frame: wrangler's node and both workerd processes, or the PeerJS node process.",
    "PeerJS has no rooms and no broadcast: its fan-out sender writes 15 unicasts; its scale groups are id prefixes.",
    `Room clients ack cumulatively every 32 durable frames or 50 ms and ping every 20 s; room limits raised by --var (${Object.entries(
      SETTINGS.roomVars,
    )
      .map(([name, value]) => `${name}=${value}`)
      .join(", ")}).`,
  );
  const room = results.find((result) => result.target === "room");
  const bare = results.find((result) => result.target === "bare");
  const report: SignalingResults = {
    benchmark: "signaling",
    mode: quick ? "quick" : "full",
    startedAt,
    finishedAt: new Date().toISOString(),
    command: ["npm run bench:signaling", ...process.argv.slice(2)].join(" ").replace("bench:signaling -", "bench:signaling -- -"),
    wranglerCommand: wrangler?.commandLine,
    machine,
    load: {
      before: loadBefore,
      after: loadAfter,
      max1m: maxLoad,
      busy,
      note: busy
        ? `Other work was running: the 1-min load average reached ${maxLoad} on ${machine.nproc} cores, so absolute figures are pessimistic and noisy; the same-run ratios (alternating rounds) are the comparable figures.`
        : "The machine was otherwise mostly idle.",
    },
    settings: SETTINGS,
    code: { ...codeVersion(), bundleSha256: wrangler?.bundleSha256 },
    targets: Object.fromEntries(results.map((result) => [result.target, result])),
    ratios: computeRatios(room, bare),
    profile,
    notes,
  };
  log("");
  log(renderReport(report));
  const resultsDir = join(repoRoot, "bench/results");
  mkdirSync(resultsDir, { recursive: true });
  const suffix = `${quick ? "-quick" : ""}${partial ? "-partial" : ""}`;
  const outPath = join(resultsDir, `signaling${suffix}.json`);
  writeFileSync(outPath, `${JSON.stringify(report, null, 2)}\n`);
  log(`\nwrote ${outPath}`);
  return 0;
}

function liveTarget(result: TargetResult, dialect: Dialect, serverPgid: number): LiveTarget {
  return { name: result.target, dialect, serverPgid, result };
}

/** git HEAD and how many files under worker/ and protocol/ differ from it (read-only git commands). */
function codeVersion(): { gitHead: string; uncommittedWorkerFiles: number } {
  const git = (args: string[]) => spawnSync("git", args, { cwd: repoRoot, encoding: "utf8", timeout: 10_000 }).stdout ?? "";
  const status = git(["status", "--porcelain", "--", "worker", "protocol"]);
  return { gitHead: git(["rev-parse", "HEAD"]).trim() || "unknown", uncommittedWorkerFiles: status.split("\n").filter(Boolean).length };
}

/** One unmeasured burst per DO target under the worker isolate's CPU profiler. */
async function profileBursts(wrangler: WranglerDev, targets: LiveTarget[]): Promise<SignalingResults["profile"]> {
  const { frames, samplingIntervalUs } = SETTINGS.profile;
  const profile: NonNullable<SignalingResults["profile"]> = { frames, samplingIntervalUs };
  let session: InspectorSession | undefined;
  try {
    session = await InspectorSession.connect(wrangler.inspectorPort);
    for (const target of targets) {
      if (target.name === "peerjs") continue;
      const clients = (await openGroup(target.dialect, `prof-${runId}`, 2, SETTINGS.connectTimeoutMs)) as [BenchClient, BenchClient];
      try {
        const pair: Pair = { sender: clients[0], receiver: clients[1], nextIndex: 0 };
        await burstRound(pair, 200, SETTINGS.burst.timeoutMs); // warm the object before profiling
        let run: Awaited<ReturnType<typeof burstRound>> | undefined;
        const cpuProfile = await session.profile(async () => {
          run = await burstRound(pair, frames, SETTINGS.burst.timeoutMs);
        }, samplingIntervalUs);
        if (run?.error) throw new Error(`profiled burst failed: ${run.error}`);
        profile[target.name] = summariseProfile(cpuProfile, wrangler.bundlePath, repoRoot, frames);
        log(`profiled ${target.name}: ${profile[target.name]?.busyUsPerFrame} µs busy per frame in the worker isolate`);
      } finally {
        await closeAll(clients);
      }
    }
  } catch (error) {
    profile.error = message(error);
  } finally {
    session?.close();
  }
  return profile;
}

/** Opens two clients of a probe room and relays one signal; the reason when that fails. */
async function probe(dialect: Dialect): Promise<string | undefined> {
  let clients: BenchClient[] = [];
  try {
    clients = await openGroup(dialect, `probe-${runId}`, 2, SETTINGS.connectTimeoutMs);
    const [sender, receiver] = clients as [BenchClient, BenchClient];
    const arrived = receipt<void>(10_000, `${dialect.name} probe signal`);
    receiver.onPayload = () => arrived.resolve();
    sender.send(dialect.signal(receiver.peerId, benchData(0, 0)));
    await arrived.promise;
    return undefined;
  } catch (error) {
    return message(error);
  } finally {
    await closeAll(clients);
  }
}

/** Accumulates a target's server CPU over the rounds it ran. */
class CpuMeter {
  ms = 0;
  units = 0;
  /** Runs `work`, charging the server group's CPU to `units` frames. */
  async measure<T>(pgid: number, units: number, work: () => Promise<T>): Promise<T> {
    const before = groupCpuMs(pgid);
    try {
      return await work();
    } finally {
      this.ms += groupCpuMs(pgid) - before;
      this.units += units;
    }
  }
  /** µs per unit. */
  get perUnitUs(): number {
    return this.units === 0 ? Number.NaN : Math.round((this.ms * 1000) / this.units);
  }
}

/** Workloads 1 and 2 on one sender/receiver pair per target. */
async function latencyAndBurst(targets: LiveTarget[]): Promise<void> {
  const pairs = new Map<TargetName, Pair>();
  for (const target of targets) {
    try {
      const [sender, receiver] = (await openGroup(target.dialect, `pair-${runId}`, 2, SETTINGS.connectTimeoutMs)) as [
        BenchClient,
        BenchClient,
      ];
      pairs.set(target.name, { sender, receiver, nextIndex: 0 });
    } catch (error) {
      target.result.errors.latency = target.result.errors.burst = `could not open a pair: ${message(error)}`;
    }
  }
  const latency = SETTINGS.latency;
  const samples = new Map<TargetName, number[]>(targets.map((target) => [target.name, []]));
  const roundP50s = new Map<TargetName, number[]>(targets.map((target) => [target.name, []]));
  const latencyCpu = new Map<TargetName, CpuMeter>(targets.map((target) => [target.name, new CpuMeter()]));
  for (let round = 0; round < latency.rounds; round++) {
    for (const target of rotate(targets, round)) {
      const pair = pairs.get(target.name);
      if (!pair || target.result.errors.latency) continue;
      const roundSamples: number[] = [];
      try {
        await latencyCpu
          .get(target.name)
          ?.measure(target.serverPgid, latency.warmUpFrames + latency.measuredFrames, () => latencyRound(pair, latency, roundSamples));
      } catch (error) {
        target.result.errors.latency = message(error);
      }
      samples.get(target.name)?.push(...roundSamples);
      roundP50s.get(target.name)?.push(summarise(roundSamples).p50);
      log(
        `latency round ${round + 1}/${latency.rounds} ${target.name}: p50 ${summarise(roundSamples).p50} ms, p99 ${summarise(roundSamples).p99} ms`,
      );
    }
  }
  for (const target of targets) {
    if (target.result.errors.latency) continue;
    target.result.latency = {
      ...summarise(samples.get(target.name) ?? []),
      roundP50s: roundP50s.get(target.name) ?? [],
      serverCpuUsPerFrame: latencyCpu.get(target.name)?.perUnitUs ?? Number.NaN,
    };
  }

  const burst = SETTINGS.burst;
  const runs = new Map<TargetName, Awaited<ReturnType<typeof burstRound>>[]>(targets.map((target) => [target.name, []]));
  const burstCpu = new Map<TargetName, CpuMeter>(targets.map((target) => [target.name, new CpuMeter()]));
  for (let round = 0; round < burst.rounds; round++) {
    for (const target of rotate(targets, round)) {
      const pair = pairs.get(target.name);
      if (!pair || target.result.errors.burst) continue;
      const run = await (burstCpu.get(target.name) as CpuMeter).measure(target.serverPgid, burst.frames, () =>
        burstRound(pair, burst.frames, burst.timeoutMs),
      );
      runs.get(target.name)?.push(run);
      if (run.error) target.result.errors.burst = `${run.error} (${run.received}/${run.frames} arrived)`;
      log(
        `burst round ${round + 1}/${burst.rounds} ${target.name}: ${Math.round(run.framesPerSecond)} frames/s, ${run.received}/${run.frames} arrived`,
      );
    }
  }
  for (const target of targets) {
    const targetRuns = runs.get(target.name) ?? [];
    if (target.result.errors.burst || targetRuns.length === 0) continue;
    target.result.burst = {
      runs: targetRuns.map((run) => ({
        ...run,
        elapsedMs: Math.round(run.elapsedMs * 10) / 10,
        framesPerSecond: Math.round(run.framesPerSecond),
      })),
      framesPerSecond: Math.round(median(targetRuns.map((run) => run.framesPerSecond))),
      serverCpuUsPerFrame: burstCpu.get(target.name)?.perUnitUs ?? Number.NaN,
    };
    const problems = targetRuns.filter((run) => run.duplicates > 0 || run.outOfOrder > 0);
    if (problems.length > 0) target.result.errors.burstIntegrity = `${problems.length} burst(s) had duplicates or reordering`;
  }
  for (const pair of pairs.values()) {
    for (const client of [pair.sender, pair.receiver]) if (client.errorCount > 0) noteClientErrors(targets, client);
    await closeAll([pair.sender, pair.receiver]);
  }
}

/** Records refusal frames a client received during workloads that expect none. */
function noteClientErrors(targets: LiveTarget[], client: BenchClient): void {
  const target = targets.find((candidate) => candidate.name === client.dialect.name);
  if (target) target.result.errors.refusals = `${client.errorCount} error frame(s), e.g. ${client.firstErrors[0] ?? ""}`;
}

/** Workload 3: one 16-peer room per target. */
async function fanout(targets: LiveTarget[]): Promise<void> {
  const settings = SETTINGS.fanout;
  const rooms = new Map<TargetName, FanoutRoom>();
  for (const target of targets) {
    try {
      rooms.set(target.name, {
        clients: await openGroup(target.dialect, `fan-${runId}`, settings.peers, SETTINGS.connectTimeoutMs),
        nextIndex: 0,
      });
    } catch (error) {
      target.result.errors.fanout = `could not open ${settings.peers} clients: ${message(error)}`;
    }
  }
  const samples = new Map<TargetName, number[]>(targets.map((target) => [target.name, []]));
  const roundP50s = new Map<TargetName, number[]>(targets.map((target) => [target.name, []]));
  const cpu = new Map<TargetName, CpuMeter>(targets.map((target) => [target.name, new CpuMeter()]));
  for (let round = 0; round < settings.rounds; round++) {
    for (const target of rotate(targets, round)) {
      const room = rooms.get(target.name);
      if (!room || target.result.errors.fanout) continue;
      const roundSamples: number[] = [];
      try {
        await (cpu.get(target.name) as CpuMeter).measure(target.serverPgid, settings.warmUpBroadcasts + settings.measuredBroadcasts, () =>
          fanoutRound(room, settings, roundSamples),
        );
      } catch (error) {
        target.result.errors.fanout = message(error);
      }
      samples.get(target.name)?.push(...roundSamples);
      roundP50s.get(target.name)?.push(summarise(roundSamples).p50);
      log(
        `fan-out round ${round + 1}/${settings.rounds} ${target.name}: p50 ${summarise(roundSamples).p50} ms, p99 ${summarise(roundSamples).p99} ms`,
      );
    }
  }
  for (const target of targets) {
    if (target.result.errors.fanout) continue;
    target.result.fanout = {
      ...summarise(samples.get(target.name) ?? []),
      receivers: settings.peers - 1,
      mode: target.name === "peerjs" ? "unicasts" : "broadcast",
      roundP50s: roundP50s.get(target.name) ?? [],
      serverCpuUsPerBroadcast: cpu.get(target.name)?.perUnitUs ?? Number.NaN,
    };
  }
  for (const room of rooms.values()) {
    for (const client of room.clients) if (client.errorCount > 0) noteClientErrors(targets, client);
    await closeAll(room.clients);
  }
}

/** Workload 4, one target at a time (1 000 sockets each). */
async function scale(target: LiveTarget): Promise<void> {
  const settings = SETTINGS.scale;
  log(
    `scale ${target.name}: ${settings.rooms * settings.peersPerRoom} sockets in ${settings.rooms} rooms, ${settings.framesPerPeer} signals each…`,
  );
  try {
    const run = await runScale(target.dialect, `scale-${runId}`, settings);
    target.result.scale = {
      ...run,
      connectMs: Math.round(run.connectMs),
      deliverMs: Math.round(run.deliverMs),
      framesPerSecond: Math.round(run.framesPerSecond),
    };
    if (run.error) target.result.errors.scale = run.error;
    log(
      `scale ${target.name}: ${run.received}/${run.expected} delivered, ${run.lost} lost, ${run.duplicates} duplicates, ${run.errors} error frames`,
    );
  } catch (error) {
    target.result.errors.scale = message(error);
  }
}

main()
  .then((code) => {
    clearTimeout(watchdog);
    process.exitCode = code;
  })
  .catch((error: unknown) => {
    clearTimeout(watchdog);
    process.stderr.write(`bench:signaling failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    killAllGroups();
    process.exitCode = 1;
  });
