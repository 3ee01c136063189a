/** The machine and software a run measured, and the load other work put on it, for the results file. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type HostFacts, hostFacts } from "../machine.ts";

/** Facts recorded with every result. */
export interface MachineInfo extends HostFacts {
  wrangler: string;
  workerd: string;
  peer: string;
  ws: string;
}

/** Collects MachineInfo; package versions are read from node_modules under `repoRoot`. */
export function machineInfo(repoRoot: string): MachineInfo {
  return {
    ...hostFacts(),
    wrangler: packageVersion(repoRoot, "wrangler"),
    workerd: packageVersion(repoRoot, "@cloudflare/workerd-linux-64"),
    peer: packageVersion(repoRoot, "peer"),
    ws: packageVersion(repoRoot, "ws"),
  };
}

/** `/proc/loadavg` as printed (1, 5, 15 min averages, runnable/total tasks, last pid); "" off Linux. */
export function loadAverageLine(): string {
  try {
    return readFileSync("/proc/loadavg", "utf8").trim();
  } catch {
    return "";
  }
}

/** The 1-minute load average from a /proc/loadavg line. */
export function oneMinuteLoad(line: string): number {
  return Number(line.split(" ")[0] ?? Number.NaN);
}

function packageVersion(repoRoot: string, name: string): string {
  try {
    const manifest = JSON.parse(readFileSync(join(repoRoot, "node_modules", name, "package.json"), "utf8")) as { version?: string };
    return manifest.version ?? "unknown";
  } catch {
    return "not installed";
  }
}
