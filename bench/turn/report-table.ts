/** Renders the TURN benchmark's results as Markdown tables (printed, and pasted into BENCHMARKS.md). */
import type { BenchResults, RatioRow, WorkloadRun } from "./results.ts";
import { SERVER_NAMES } from "./server-specs.ts";

/** Server × workload table, the allocation-memory table and the ratio table. */
export function renderReport(results: BenchResults, workloadIds: string[]): string {
  const lines: string[] = [];
  lines.push(
    "| server | workload | status | loss % | sent / received | server CPU s | user / sys s | peak RSS MiB | idle RSS MiB | avg RTT ms | load 1m |",
  );
  lines.push("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const name of SERVER_NAMES) {
    const server = results.servers[name];
    if (!server) continue;
    for (const id of workloadIds) {
      const run = server.workloads[id];
      if (!run) continue;
      lines.push(
        `| ${name} | ${id} | ${statusText(run)} | ${num(run.lossPercent, 2)} | ${run.sent ?? "–"} / ${run.received ?? "–"} | ${num(run.cpuSeconds, 2)} | ${num(run.cpuUserSeconds, 2)} / ${num(run.cpuSystemSeconds, 2)} | ${num(run.peakRssMiB, 1)} | ${num(run.idleRssMiB, 1)} | ${num(run.avgRttMs, 2)} | ${num(run.loadAverage1m, 2)} |`,
      );
    }
  }
  lines.push("");
  lines.push(
    "| server | allocations opened / asked | RSS before MiB | RSS after MiB | RSS growth per 1 000 allocations MiB | server CPU s | setup s |",
  );
  lines.push("|---|---:|---:|---:|---:|---:|---:|");
  for (const name of SERVER_NAMES) {
    const run = results.servers[name]?.allocations;
    if (!run) continue;
    const status = run.status === "ok" ? "" : ` (${run.status}${failureText(run.failures)})`;
    lines.push(
      `| ${name} | ${run.opened} / ${run.requested}${status} | ${num(run.baselineRssMiB, 1)} | ${num(run.afterRssMiB, 1)} | ${num(run.rssPer1kAllocationsMiB, 2)} | ${num(run.cpuSeconds, 2)} | ${num(run.setupSeconds, 2)} |`,
    );
  }
  if (results.scaleOut && results.scaleOut.length > 0) {
    lines.push("");
    lines.push(
      "| ours, processes (--reuse-port) | workload | status | loss % | sent / received | server CPU s (sum) | per process | peak RSS MiB (sum) |",
    );
    lines.push("|---|---|---|---:|---:|---:|---|---:|");
    for (const run of results.scaleOut) {
      lines.push(
        `| ${run.processes} | ${run.workload} | ${run.note ? `${run.status}: ${run.note}` : run.status} | ${num(run.lossPercent, 2)} | ${run.sent ?? "–"} / ${run.received ?? "–"} | ${num(run.cpuSeconds, 2)} | ${run.perProcessCpuSeconds?.join(" + ") ?? "–"} | ${num(run.peakRssMiB, 1)} |`,
      );
    }
  }
  if (results.ratios.length > 0) {
    lines.push("");
    lines.push("| server | metric | vs | ours | theirs | ours / theirs | target | met |");
    lines.push("|---|---|---|---:|---:|---:|---|---|");
    for (const row of results.ratios) lines.push(ratioLine(row));
  }
  return lines.join("\n");
}

function ratioLine(row: RatioRow): string {
  const met = row.met === undefined ? "" : row.met ? "yes" : "**no**";
  return `| ${row.subject ?? "ours"} | ${row.metric} | ${row.versus} | ${num(row.ours ?? undefined, 2)} | ${num(row.other ?? undefined, 2)} | ${row.ratio === null ? "–" : `${row.ratio}×`} | ${row.target ?? ""} | ${met} |`;
}

function statusText(run: WorkloadRun): string {
  const drops = run.kernelDrops;
  const dropText =
    drops && drops.total > 0
      ? ` (kernel drops: ${drops.total} total; listener ${drops.serverListener}, relays ${drops.serverRelays}, echo peer ${drops.echoPeer})`
      : "";
  return `${run.note ? `${run.status}: ${run.note}` : run.status}${dropText}`;
}

function failureText(failures: Record<string, number>): string {
  const parts = Object.entries(failures).map(([reason, count]) => `${reason} ×${count}`);
  return parts.length > 0 ? `: ${parts.join(", ")}` : "";
}

function num(value: number | undefined, digits: number): string {
  return value === undefined ? "–" : value.toFixed(digits);
}
