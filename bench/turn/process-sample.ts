/**
 * CPU time and memory of a server process and its descendants, read from /proc (proc(5)).
 * Descendants count too, so a server that forks workers (or a bin that wraps its core in a child) is
 * measured whole. /proc/<pid>/stat of a thread-group leader already sums all its threads.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** One reading of a process tree. */
export interface ProcessSample {
  /** utime + stime of every live process in the tree, in clock ticks. */
  cpuTicks: number;
  /** utime alone (user space: JS, libuv, V8), clock ticks. */
  userTicks: number;
  /** stime alone (kernel: syscalls and the network stack they run), clock ticks. */
  systemTicks: number;
  /** Sum of VmRSS, KiB. */
  rssKiB: number;
  /** Sum of VmHWM (each process's peak resident set), KiB. */
  peakRssKiB: number;
  /** Processes found (0 when the root has exited). */
  processes: number;
}

let clockTicks: number | undefined;

/** Clock ticks per second for /proc CPU fields (`getconf CLK_TCK`, 100 on Linux x86). */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    const text = execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8", timeout: 5_000 }).trim();
    const parsed = Number.parseInt(text, 10);
    clockTicks = Number.isFinite(parsed) && parsed > 0 ? parsed : 100;
  }
  return clockTicks;
}

/** Reads CPU ticks and memory of `rootPid` and every descendant alive now. */
export function sampleProcessTree(rootPid: number): ProcessSample {
  const sample: ProcessSample = { cpuTicks: 0, userTicks: 0, systemTicks: 0, rssKiB: 0, peakRssKiB: 0, processes: 0 };
  for (const pid of processTree(rootPid)) {
    const stat = readStat(pid);
    if (!stat) continue;
    const status = readStatusKiB(pid);
    sample.cpuTicks += stat.utime + stat.stime;
    sample.userTicks += stat.utime;
    sample.systemTicks += stat.stime;
    sample.rssKiB += status.VmRSS ?? 0;
    sample.peakRssKiB += status.VmHWM ?? 0;
    sample.processes += 1;
  }
  return sample;
}

/** `rootPid` plus its descendants, found by each process's parent id (no /proc/…/children on this kernel). */
export function processTree(rootPid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (stat) parentOf.set(pid, stat.ppid);
  }
  if (!parentOf.has(rootPid)) return [];
  const tree = [rootPid];
  // Breadth-first over a snapshot: bounded by the number of processes on the machine.
  for (let index = 0; index < tree.length; index += 1) {
    for (const [pid, ppid] of parentOf) if (ppid === tree[index]) tree.push(pid);
  }
  return tree;
}

interface StatFields {
  ppid: number;
  utime: number;
  stime: number;
}

function readStat(pid: number): StatFields | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null; // exited between listing and reading
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // After the name: state(3) ppid(4) … utime(14) stime(15), so indexes 1, 11 and 12 here.
  return { ppid: Number(fields[1]), utime: Number(fields[11]), stime: Number(fields[12]) };
}

function readStatusKiB(pid: number): Record<string, number> {
  const values: Record<string, number> = {};
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return values;
  }
  for (const line of text.split("\n")) {
    const match = /^(VmRSS|VmHWM):\s+(\d+) kB/.exec(line);
    if (match) values[match[1]!] = Number(match[2]);
  }
  return values;
}
