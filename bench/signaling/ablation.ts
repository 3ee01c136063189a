/**
 * `node bench/signaling/ablation.ts [--frames N] [--burst N]` — where does the Room's latency over the bare
 * relay come from? Same harness, one wrangler dev, variants: BareRelay; AblationRelay with nothing, then with
 * the Room's per-frame pieces switched on one by one (ablation-relay.ts: zod validation, re-serialisation with
 * seq + client acks, the coalesced 250 ms SQLite flush); and the real Room. Latency frames are interleaved
 * frame by frame across the variants (one frame to each in turn), so load from other work on a shared machine
 * falls on all variants alike — finer than run.ts's alternating rounds. Server CPU is measured per variant in
 * the burst phase (bursts run one variant at a time).
 * Prints p50/p99 and the ratio to BareRelay per variant, and writes bench/results/signaling-ablation.json.
 * A diagnostic for the lead, not the benchmark of record (that is run.ts).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type BenchClient, closeAll, openGroup } from "./bench-client.ts";
import { burstRound } from "./burst.ts";
import { killAllGroups } from "./group-process.ts";
import { latencyRound, type Pair } from "./latency.ts";
import { loadAverageLine, machineInfo } from "./machine.ts";
import { groupCpuMs } from "./process-cpu.ts";
import { median, round3, summarise } from "./stats.ts";
import { ablationDialect, bareDialect, type Dialect, roomDialect } from "./targets.ts";
import { startWranglerDev } from "./wrangler-dev.ts";

const { values } = parseArgs({
  options: {
    frames: { type: "string", default: "2000" },
    burst: { type: "string", default: "3000" },
  },
});
const FRAMES = Number(values.frames);
const WARM_UP_FRAMES = 50;
const BURST = Number(values.burst);
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const runId = Date.now().toString(36);
const watchdog = setTimeout(() => {
  process.stderr.write("ablation: time limit reached\n");
  killAllGroups();
  process.exit(1);
}, 20 * 60_000);
process.once("SIGINT", () => {
  killAllGroups();
  process.exit(130);
});

/** One variant and its measurements. */
interface Variant {
  label: string;
  dialect: Dialect;
  pair?: Pair;
  samples: number[];
  bursts: number[];
  cpuMs: number;
  frames: number;
}

async function main(): Promise<void> {
  const workDir = mkdtempSync(join(tmpdir(), "bench-signaling-ablation-"));
  const loadBefore = loadAverageLine();
  const secret = randomBytes(32).toString("base64url");
  const wrangler = await startWranglerDev({
    repoRoot,
    workDir,
    port: 8711,
    inspectorPort: 9311,
    vars: {
      ENVIRONMENT: "bench",
      ROOM_TOKEN_SECRET: secret,
      RATE_LIMIT_PER_SECOND: "1000000",
      RATE_LIMIT_BURST: "1000000",
      MAX_QUEUE_PER_PEER: "100000",
    },
    readyTimeoutMs: 90_000,
  });
  const pgid = wrangler.process.pid;
  const make = (label: string, dialect: Dialect): Variant => ({
    label,
    dialect,
    samples: [],
    bursts: [],
    cpuMs: 0,
    frames: 0,
  });
  const variants: Variant[] = [
    make("BareRelay (floor)", bareDialect(wrangler.baseUrl)),
    make("Ablation: nothing on", ablationDialect(wrangler.baseUrl, "")),
    make("+ validate (JSON.parse + zod)", ablationDialect(wrangler.baseUrl, "validate")),
    make("+ re-serialise with seq, retain, client acks", ablationDialect(wrangler.baseUrl, "validate,reserialize")),
    make("+ coalesced 250 ms SQLite flush", ablationDialect(wrangler.baseUrl, "validate,reserialize,flush")),
    make("Room DO (real worker)", roomDialect(wrangler.baseUrl, secret)),
  ];
  try {
    for (const [index, variant] of variants.entries()) {
      const [sender, receiver] = (await openGroup(variant.dialect, `abl${index}-${runId}`, 2, 30_000)) as [BenchClient, BenchClient];
      variant.pair = { sender, receiver, nextIndex: 0 };
    }
    for (const variant of variants) {
      await latencyRound(variant.pair as Pair, { warmUpFrames: WARM_UP_FRAMES, measuredFrames: 0, frameTimeoutMs: 10_000 }, []);
    }
    for (let frame = 0; frame < FRAMES; frame++) {
      const shift = frame % variants.length;
      for (const variant of [...variants.slice(shift), ...variants.slice(0, shift)]) {
        await latencyRound(variant.pair as Pair, { warmUpFrames: 0, measuredFrames: 1, frameTimeoutMs: 10_000 }, variant.samples);
      }
      if ((frame + 1) % 500 === 0) process.stdout.write(`${frame + 1}/${FRAMES} interleaved frames per variant\n`);
    }
    for (let round = 0; round < 2; round++) {
      for (const variant of variants) {
        const before = groupCpuMs(pgid);
        const run = await burstRound(variant.pair as Pair, BURST, 120_000);
        variant.cpuMs += groupCpuMs(pgid) - before;
        variant.frames += BURST;
        variant.bursts.push(run.framesPerSecond);
      }
    }
  } finally {
    for (const variant of variants) if (variant.pair) await closeAll([variant.pair.sender, variant.pair.receiver]);
    await wrangler.process.stop();
    rmSync(workDir, { recursive: true, force: true });
    clearTimeout(watchdog);
  }
  const floor = summarise(variants[0]?.samples ?? []);
  const floorBurst = median(variants[0]?.bursts ?? []);
  const rows = variants.map((variant) => {
    const summary = summarise(variant.samples);
    const burst = median(variant.bursts);
    return {
      variant: variant.label,
      p50: summary.p50,
      p99: summary.p99,
      p50Ratio: round3(summary.p50 / floor.p50),
      p99Ratio: round3(summary.p99 / floor.p99),
      serverCpuUsPerFrame: Math.round((variant.cpuMs * 1000) / variant.frames),
      burstFramesPerSecond: Math.round(burst),
      burstRatio: round3(burst / floorBurst),
    };
  });
  const lines = [
    "| variant | p50 (ms) | p99 (ms) | p50 / floor | p99 / floor | server CPU µs/frame (burst) | burst frames/s | burst / floor |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map(
      (row) =>
        `| ${row.variant} | ${row.p50.toFixed(3)} | ${row.p99.toFixed(3)} | ${row.p50Ratio.toFixed(2)}× | ${row.p99Ratio.toFixed(2)}× | ${row.serverCpuUsPerFrame} | ${row.burstFramesPerSecond} | ${row.burstRatio.toFixed(2)}× |`,
    ),
  ];
  const loadAfter = loadAverageLine();
  process.stdout.write(`\n${lines.join("\n")}\n\nload average before ${loadBefore}; after ${loadAfter}\n`);
  mkdirSync(join(repoRoot, "bench/results"), { recursive: true });
  const out = join(repoRoot, "bench/results/signaling-ablation.json");
  writeFileSync(
    out,
    `${JSON.stringify({ benchmark: "signaling-ablation", date: new Date().toISOString(), machine: machineInfo(repoRoot), load: { before: loadBefore, after: loadAfter }, interleavedFrames: FRAMES, warmUpFrames: WARM_UP_FRAMES, burstFrames: BURST, bundleSha256: wrangler.bundleSha256, rows }, null, 2)}\n`,
  );
  process.stdout.write(`wrote ${out}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`ablation failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  killAllGroups();
  clearTimeout(watchdog);
  process.exitCode = 1;
});
