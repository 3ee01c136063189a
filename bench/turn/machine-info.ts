/** The machine a benchmark ran on, for the results file: the host (bench/machine.ts), coturn's version, load and date. */
import { loadavg } from "node:os";
import { type HostFacts, hostFacts } from "../machine.ts";

/** Facts recorded next to every result. */
export interface MachineInfo extends HostFacts {
  coturn: string;
  loadAverage1m: number;
  date: string;
}

/** Collects MachineInfo; `coturnVersion` comes from ensureCoturn(). */
export function machineInfo(coturnVersion: string): MachineInfo {
  return { ...hostFacts(), coturn: coturnVersion, loadAverage1m: loadavg()[0] ?? 0, date: new Date().toISOString() };
}
