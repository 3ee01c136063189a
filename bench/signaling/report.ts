/** Renders results as Markdown tables: printed by run.ts and pasted into BENCHMARKS.md ("## Signaling"). */
import type { SignalingResults, TargetResult } from "./results.ts";
import { TARGET_NAMES } from "./targets.ts";

/** The target × metric table, the ratio table, and the machine/load lines. */
export function renderReport(results: SignalingResults): string {
  const targets = TARGET_NAMES.map((name) => results.targets[name]).filter((target): target is TargetResult => target !== undefined);
  const lines: string[] = [];
  const m = results.machine;
  lines.push(
    `Machine: ${m.nproc} × ${m.cpuModel}, Linux ${m.kernel}; Node ${m.node}, wrangler ${m.wrangler} (workerd ${m.workerd}), peer ${m.peer}, ws ${m.ws}.`,
  );
  lines.push(
    `Run: ${results.mode}, ${results.startedAt} → ${results.finishedAt}. Load average before: ${results.load.before}; after: ${results.load.after}; highest 1-min seen: ${results.load.max1m}. ${results.load.note}`,
  );
  lines.push("");
  lines.push(`| metric | ${targets.map((target) => target.label).join(" | ")} |`);
  lines.push(`|---|${targets.map(() => "---:").join("|")}|`);
  const row = (metric: string, cell: (target: TargetResult) => string) => {
    lines.push(`| ${metric} | ${targets.map((target) => (target.available ? cell(target) : "unavailable")).join(" | ")} |`);
  };
  const failed = (target: TargetResult, workload: string) => (target.errors[workload] ? "failed" : "—");
  row("latency A→B p50 (ms)", (t) => (t.latency ? fixed(t.latency.p50, 3) : failed(t, "latency")));
  row("latency A→B p99 (ms)", (t) => (t.latency ? fixed(t.latency.p99, 3) : failed(t, "latency")));
  row("latency frames measured", (t) => (t.latency ? String(t.latency.count) : failed(t, "latency")));
  row("burst (frames/s, median)", (t) => (t.burst ? fixed(t.burst.framesPerSecond, 0) : failed(t, "burst")));
  row("burst runs (frames/s)", (t) =>
    t.burst ? t.burst.runs.map((run) => fixed(run.framesPerSecond, 0)).join(" / ") : failed(t, "burst"),
  );
  row("fan-out 1→15, last receiver p50 (ms)", (t) => (t.fanout ? fixed(t.fanout.p50, 3) : failed(t, "fanout")));
  row("fan-out 1→15, last receiver p99 (ms)", (t) => (t.fanout ? fixed(t.fanout.p99, 3) : failed(t, "fanout")));
  row("fan-out mode", (t) => (t.fanout ? (t.fanout.mode === "broadcast" ? "1 broadcast" : "15 unicasts") : failed(t, "fanout")));
  row("server CPU per frame, latency (µs)", (t) => (t.latency ? fixed(t.latency.serverCpuUsPerFrame, 0) : "—"));
  row("server CPU per frame, burst (µs)", (t) => (t.burst ? fixed(t.burst.serverCpuUsPerFrame, 0) : "—"));
  row("scale: sockets / rooms", (t) => (t.scale ? `${t.scale.sockets} / ${t.scale.rooms}` : failed(t, "scale")));
  row("scale: frames lost / sent", (t) => (t.scale ? `${t.scale.lost} / ${t.scale.expected}` : failed(t, "scale")));
  row("scale: duplicates, out of order", (t) => (t.scale ? `${t.scale.duplicates}, ${t.scale.outOfOrder}` : "—"));
  row("scale: Room seq gaps", (t) => (t.scale ? (t.target === "room" ? String(t.scale.seqGaps) : "n/a") : "—"));
  row("scale: error frames", (t) => (t.scale ? String(t.scale.errors) : "—"));
  row("scale: connect all (s)", (t) => (t.scale ? fixed(t.scale.connectMs / 1000, 1) : "—"));
  row("scale: delivery (frames/s)", (t) => (t.scale ? fixed(t.scale.framesPerSecond, 0) : "—"));
  lines.push("");
  if (results.ratios.length > 0) {
    lines.push("| same-run ratio | Room | BareRelay | Room / BareRelay | target | met |");
    lines.push("|---|---:|---:|---:|---|---|");
    for (const ratio of results.ratios) {
      const met = ratio.met === undefined ? "(info)" : ratio.met ? "yes" : "**no**";
      lines.push(
        `| ${ratio.metric} | ${compact(ratio.room)} | ${compact(ratio.bare)} | ${ratio.ratio.toFixed(2)}× | ${ratio.target ?? ""} | ${met} |`,
      );
    }
  } else {
    lines.push("No Room/BareRelay ratios: a target was unavailable or a workload failed.");
  }
  for (const target of targets) {
    if (!target.available) lines.push(`- ${target.label}: unavailable — ${target.unavailableReason ?? "unknown reason"}`);
    for (const [workload, error] of Object.entries(target.errors)) lines.push(`- ${target.label}, ${workload}: ${error}`);
  }
  for (const note of results.notes) lines.push(`- ${note}`);
  const profile = results.profile;
  if (profile && (profile.room || profile.bare)) {
    lines.push("");
    lines.push(`Worker isolate CPU profile, one extra burst of ${profile.frames} frames per target (self time, profiler on):`);
    lines.push("");
    lines.push("| target | busy ms | busy µs/frame | by source (share of busy) |");
    lines.push("|---|---:|---:|---|");
    for (const [name, summary] of [
      ["Room", profile.room],
      ["BareRelay", profile.bare],
    ] as const) {
      if (!summary) continue;
      const files = summary.byFile
        .slice(0, 8)
        .map((entry) => `${entry.name} ${entry.share}%`)
        .join(", ");
      lines.push(`| ${name} | ${summary.busyMs} | ${summary.busyUsPerFrame} | ${files} |`);
    }
    if (profile.room) {
      lines.push("");
      lines.push(
        `Room, top functions by self time: ${profile.room.topFunctions.map((entry) => `${entry.name} ${entry.share}%`).join("; ")}`,
      );
    }
  } else if (profile?.error) {
    lines.push(`- CPU profile not taken: ${profile.error}`);
  }
  return lines.join("\n");
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

/** Integers as integers, small values with 3 decimals. */
function compact(value: number): string {
  return Number.isInteger(value) ? String(value) : fixed(value, 3);
}
