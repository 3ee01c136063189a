/** The host a benchmark ran on, recorded with every result: cores, CPU model, kernel, Node. Each benchmark adds the versions of its own tools. */
import { readFileSync } from "node:fs";
import { availableParallelism, release } from "node:os";

/** Facts about the host. */
export interface HostFacts {
  nproc: number;
  cpuModel: string;
  kernel: string;
  node: string;
}

/** Collects HostFacts (the CPU model from /proc/cpuinfo; "unknown" off Linux). */
export function hostFacts(): HostFacts {
  let cpuModel = "unknown";
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? "unknown";
  } catch {
    // Not Linux.
  }
  return { nproc: availableParallelism(), cpuModel, kernel: release(), node: process.version };
}
