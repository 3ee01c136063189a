/** The machine a benchmark ran on, for the results file: cores, CPU model, kernel, Node and coturn versions. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg, release } from "node:os";

/** Facts recorded next to every result. */
export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  kernel: string;
  node: string;
  coturn: string;
  loadAverage1m: number;
  date: string;
}

/** Collects MachineInfo; `coturnVersion` comes from ensureCoturn(). */
export function machineInfo(coturnVersion: string): MachineInfo {
  let cpuModel = "unknown";
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (match) cpuModel = match[1]!.trim();
  } catch {
    // Not Linux: leave "unknown".
  }
  return {
    nproc: Number(execFileSync("nproc", { encoding: "utf8", timeout: 5_000 }).trim()),
    cpuModel,
    kernel: release(),
    node: process.version,
    coturn: coturnVersion,
    loadAverage1m: loadavg()[0] ?? 0,
    date: new Date().toISOString(),
  };
}
