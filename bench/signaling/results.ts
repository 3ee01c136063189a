/** The shape of bench/results/signaling*.json and the same-run ratios the issue sets targets for. */
import type { BurstRun } from "./burst.ts";
import type { ProfileSummary } from "./cpu-profile.ts";
import type { MachineInfo } from "./machine.ts";
import type { ScaleRun } from "./scale.ts";
import type { LatencySummary } from "./stats.ts";
import type { TargetName } from "./targets.ts";

/** A latency workload's result for one target. */
export interface LatencyResult extends LatencySummary {
  /** p50 of each round, in the order run (rounds alternate between targets). */
  roundP50s: number[];
  /** Server process-group CPU per relayed frame (µs), warm-up frames included. */
  serverCpuUsPerFrame: number;
}

/** The burst workload's result for one target. */
export interface BurstResult {
  runs: BurstRun[];
  /** Median over runs. */
  framesPerSecond: number;
  serverCpuUsPerFrame: number;
}

/** The fan-out workload's result for one target. */
export interface FanoutResult extends LatencySummary {
  receivers: number;
  /** "broadcast": one frame relayed to all; "unicasts": the sender wrote one frame per receiver (PeerJS). */
  mode: "broadcast" | "unicasts";
  roundP50s: number[];
  serverCpuUsPerBroadcast: number;
}

/** Everything measured for one target; a workload that failed carries `error` instead of its figures. */
export interface TargetResult {
  target: TargetName;
  label: string;
  available: boolean;
  unavailableReason?: string;
  latency?: LatencyResult;
  burst?: BurstResult;
  fanout?: FanoutResult;
  scale?: ScaleRun;
  errors: Record<string, string>;
}

/** One same-run ratio Room / BareRelay with its target. */
export interface Ratio {
  metric: string;
  room: number;
  bare: number;
  ratio: number;
  /** e.g. "≤ 1.2"; absent for ratios shown for information. */
  target?: string;
  met?: boolean;
}

/** The results file. */
export interface SignalingResults {
  benchmark: "signaling";
  mode: "full" | "quick";
  startedAt: string;
  finishedAt: string;
  command: string;
  wranglerCommand?: string;
  machine: MachineInfo;
  load: { before: string; after: string; max1m: number; busy: boolean; note: string };
  settings: unknown;
  /** The code measured: git HEAD, how many files under worker/ and protocol/ differ from it, the bundle's hash. */
  code: { gitHead: string; uncommittedWorkerFiles: number; bundleSha256?: string };
  targets: Partial<Record<TargetName, TargetResult>>;
  ratios: Ratio[];
  /** CPU profiles of the worker isolate during one extra (unmeasured) burst per target, when taken. */
  profile?: { frames: number; samplingIntervalUs: number; room?: ProfileSummary; bare?: ProfileSummary; error?: string };
  notes: string[];
}

/** Room/BareRelay ratios: latency p50 and p99 (≤ 1.2×) and burst (≥ 0.7×) with targets; fan-out for information. */
export function computeRatios(room: TargetResult | undefined, bare: TargetResult | undefined): Ratio[] {
  const ratios: Ratio[] = [];
  const add = (
    metric: string,
    roomValue: number | undefined,
    bareValue: number | undefined,
    target?: { text: string; ok: (r: number) => boolean },
  ) => {
    if (roomValue === undefined || bareValue === undefined || !Number.isFinite(roomValue) || !Number.isFinite(bareValue) || bareValue === 0)
      return;
    const ratio = Math.round((roomValue / bareValue) * 100) / 100;
    const entry: Ratio = { metric, room: roomValue, bare: bareValue, ratio };
    if (target) {
      entry.target = target.text;
      entry.met = target.ok(roomValue / bareValue);
    }
    ratios.push(entry);
  };
  const atMost = { text: "≤ 1.2×", ok: (r: number) => r <= 1.2 };
  add("latency p50 (ms)", room?.latency?.p50, bare?.latency?.p50, atMost);
  add("latency p99 (ms)", room?.latency?.p99, bare?.latency?.p99, atMost);
  add("burst (frames/s)", room?.burst?.framesPerSecond, bare?.burst?.framesPerSecond, { text: "≥ 0.7×", ok: (r) => r >= 0.7 });
  add("fan-out p50 (ms)", room?.fanout?.p50, bare?.fanout?.p50);
  add("fan-out p99 (ms)", room?.fanout?.p99, bare?.fanout?.p99);
  add("server CPU/frame, latency (µs)", room?.latency?.serverCpuUsPerFrame, bare?.latency?.serverCpuUsPerFrame);
  add("server CPU/frame, burst (µs)", room?.burst?.serverCpuUsPerFrame, bare?.burst?.serverCpuUsPerFrame);
  return ratios;
}
