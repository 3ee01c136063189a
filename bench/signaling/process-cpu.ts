/**
 * CPU time of a process group, from /proc/<pid>/stat (utime + stime, fields 14 and 15, in clock ticks:
 * proc(5)). Sampled before and after a workload, it gives server CPU per relayed frame — a figure that a
 * busy shared machine disturbs much less than wall-clock latency.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

let ticksPerSecond: number | undefined;

/** `getconf CLK_TCK` (100 on Linux in practice). */
function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8", timeout: 5_000 }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU milliseconds of every live process whose process group is `pgid`; NaN off Linux. */
export function groupCpuMs(pgid: number): number {
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return Number.NaN;
  }
  let ticks = 0;
  for (const name of names) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // The command name (field 2) may contain spaces and parentheses: fields after the last ")" are fixed.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state): pgrp is field 5, utime 14, stime 15.
    if (Number(fields[2]) !== pgid) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1000) / clockTicksPerSecond();
}
