/** Shapes of the TURN benchmark's results (bench/results/turn*.json) and the ratios between servers. */

import type { ProfileSummary } from "./cpu-profile-summary.ts";
import type { MachineInfo } from "./machine-info.ts";
import type { ScaleOutRun } from "./scale-out.ts";
import type { ServerName } from "./server-specs.ts";
import type { KernelDrops } from "./uclient.ts";

/** One uclient workload against one freshly started server. */
export interface WorkloadRun {
  /** ok; crashed (server died during the run); timeout / no-summary (uclient); start-failed; skipped. */
  status: "ok" | "crashed" | "timeout" | "no-summary" | "start-failed" | "skipped";
  lossPercent?: number;
  sent?: number;
  received?: number;
  lostPackets?: number;
  sendDropped?: number;
  avgRttMs?: number;
  maxRttMs?: number;
  avgJitterMs?: number;
  /** Server utime + stime over the workload (from just before uclient starts to just after it ends). */
  cpuSeconds?: number;
  /** The user-space and kernel parts of cpuSeconds (utime, stime). */
  cpuUserSeconds?: number;
  cpuSystemSeconds?: number;
  /** Server VmHWM at the end (fresh process per workload, so this is the workload's peak). */
  peakRssMiB?: number;
  /** Server VmRSS when idle, just before the workload. */
  idleRssMiB?: number;
  wallSeconds?: number;
  /** Kernel receive-buffer drops during the run, by socket (where a loss happened). */
  kernelDrops?: KernelDrops;
  /** 1-minute load average when the workload started (the machine is shared: context for noisy numbers). */
  loadAverage1m?: number;
  uclientArgs: string[];
  note?: string;
}

/** Memory growth while holding many live allocations (own raw-UDP client). */
export interface AllocationRun {
  status: "ok" | "partial" | "crashed" | "start-failed" | "skipped";
  requested: number;
  opened: number;
  failures: Record<string, number>;
  /** VmRSS after a small warm-up set of allocations, before the measured set. */
  baselineRssMiB?: number;
  afterRssMiB?: number;
  /** (after − baseline) / opened × 1000. */
  rssPer1kAllocationsMiB?: number;
  cpuSeconds?: number;
  setupSeconds?: number;
  note?: string;
}

/** Everything measured for one server. */
export interface ServerResult {
  command: string;
  workloads: Record<string, WorkloadRun>;
  allocations: AllocationRun;
}

/** One ratio row: ours (or ours-dgram) divided by another server, per metric (null when either side is missing or zero). */
export interface RatioRow {
  /** The numerator: "ours" (native UDP path) unless said otherwise. */
  subject?: "ours" | "ours-dgram";
  metric: string;
  versus: ServerName;
  ours: number | null;
  other: number | null;
  ratio: number | null;
  target?: string;
  met?: boolean;
}

/** The results file. */
export interface BenchResults {
  benchmark: "turn";
  quick: boolean;
  machine: MachineInfo;
  clockTicksPerSecond: number;
  /** Which version of our relay was measured: git HEAD plus a hash of turn-server/ sources (the tree may be uncommitted). */
  oursSource: { gitHead: string; sourceSha256: string };
  servers: Partial<Record<ServerName, ServerResult>>;
  ratios: RatioRow[];
  /** Workloads against several processes of ours sharing the port with --reuse-port (--scale-out N). */
  scaleOut?: ScaleOutRun[];
  /** Extra runs of ours under `node --cpu-prof` (not the measured runs: profiling slows the server). */
  profiles?: ProfileRun[];
}

/** One profiled run of ours. */
export interface ProfileRun {
  workload: string;
  uclientStatus?: string;
  /** Path of the kept .cpuprofile (outside the repository; open it in Chrome DevTools). */
  cpuProfile?: string;
  summary?: ProfileSummary;
  error?: string;
}

/** Ratios ours/coturn and ours/node-turn for CPU, peak RSS and per-allocation memory, with the targets vs coturn. */
export function computeRatios(servers: BenchResults["servers"], workloadIds: string[]): RatioRow[] {
  const rows: RatioRow[] = [];
  for (const subject of ["ours", "ours-dgram"] as const) {
    const ours = servers[subject];
    if (!ours) continue;
    for (const versus of ["coturn", "node-turn"] as const) {
      const other = servers[versus];
      if (!other) continue;
      const tag = subject === "ours" ? {} : { subject };
      for (const id of workloadIds) {
        // Only completed runs are compared: a stuck or crashed run's CPU and memory say nothing about relaying.
        const mine = okRun(ours.workloads[id]);
        const theirs = okRun(other.workloads[id]);
        const lossTarget = versus === "coturn" && theirs?.lossPercent === 0;
        rows.push({
          ...tag,
          metric: `loss % (${id})`,
          versus,
          ours: mine?.lossPercent ?? null,
          other: theirs?.lossPercent ?? null,
          ratio: null,
          ...(lossTarget ? { target: "0 % where coturn has 0 %", met: mine?.lossPercent === 0 } : {}),
        });
        rows.push({
          ...tag,
          ...ratioRow(`CPU s (${id})`, versus, mine?.cpuSeconds, theirs?.cpuSeconds, versus === "coturn" ? 1.5 : undefined),
        });
        rows.push({ ...tag, ...ratioRow(`peak RSS MiB (${id})`, versus, mine?.peakRssMiB, theirs?.peakRssMiB) });
      }
      if (ours.allocations.status === "skipped" && other.allocations.status === "skipped") continue;
      rows.push({
        ...tag,
        ...ratioRow(
          "RSS growth MiB per 1k allocations",
          versus,
          completedAllocations(ours.allocations),
          completedAllocations(other.allocations),
          versus === "coturn" ? 1.5 : undefined,
        ),
      });
    }
  }
  return rows;
}

function okRun(run: WorkloadRun | undefined): WorkloadRun | undefined {
  return run?.status === "ok" ? run : undefined;
}

function completedAllocations(run: AllocationRun): number | undefined {
  return run.status === "ok" || run.status === "partial" ? run.rssPer1kAllocationsMiB : undefined;
}

function ratioRow(metric: string, versus: ServerName, ours: number | undefined, other: number | undefined, limit?: number): RatioRow {
  const ratio = ours !== undefined && other !== undefined && other > 0 ? Math.round((ours / other) * 100) / 100 : null;
  const row: RatioRow = { metric, versus, ours: ours ?? null, other: other ?? null, ratio };
  if (limit !== undefined) {
    row.target = `≤ ${limit}× coturn`;
    if (ratio !== null) row.met = ratio <= limit;
  }
  return row;
}
