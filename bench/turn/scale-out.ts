/**
 * Past one core: N processes of our relay on the same listening port with --reuse-port (SO_REUSEPORT: the
 * kernel hashes each client's 4-tuple to one process, so its requests and ChannelData always reach the
 * process holding its allocation), each with a disjoint slice of the relay port range (peer → relay traffic
 * lands on the process that owns the relay port). Drives one workload against the group and reports
 * loss, total CPU and how it split between the processes.
 */
import { join } from "node:path";
import type { PortBlock } from "./port-block.ts";
import { type ProcessSample, sampleProcessTree } from "./process-sample.ts";
import { answersReadyz, type RunningServer, startServer } from "./server-process.ts";
import { serverCommand } from "./server-specs.ts";
import type { KernelDrops, UclientResult, Workload } from "./uclient.ts";

/** Outcome of one workload against a group of our processes. */
export interface ScaleOutRun {
  processes: number;
  workload: string;
  status: "ok" | "crashed" | "timeout" | "no-summary" | "start-failed";
  lossPercent?: number;
  sent?: number;
  received?: number;
  /** Sum over the processes of utime + stime during the workload. */
  cpuSeconds?: number;
  /** Each process's share of cpuSeconds: how evenly SO_REUSEPORT spread the clients. */
  perProcessCpuSeconds?: number[];
  /** Kernel receive-buffer drops during the run (the relay range and listener are shared by the group). */
  kernelDrops?: KernelDrops;
  /** Sum of the processes' VmHWM. */
  peakRssMiB?: number;
  commands: string[];
  note?: string;
}

/** Splits `block` into `count` blocks on the same listening port: metrics ports first, then relay slices. */
function splitBlock(block: PortBlock, count: number): PortBlock[] {
  const firstRelay = block.minRelayPort + count;
  const slice = Math.floor((block.maxRelayPort - firstRelay + 1) / count);
  return Array.from({ length: count }, (_, index) => ({
    listeningPort: block.listeningPort,
    metricsPort: block.minRelayPort + index,
    peerPort: block.peerPort,
    minRelayPort: firstRelay + index * slice,
    maxRelayPort: firstRelay + (index + 1) * slice - 1,
  }));
}

/** Runs `workload` against `count` processes of ours sharing the listening port; every process is stopped at the end. */
export async function runScaleOut(
  count: number,
  workload: Workload,
  block: PortBlock,
  logDir: string,
  readyTimeoutMs: number,
  ticksPerSecond: number,
  /** Runs the workload's client(s) against block.listeningPort. */
  drive: () => Promise<UclientResult>,
): Promise<ScaleOutRun> {
  const blocks = splitBlock(block, count);
  const commands = blocks.map((ports) => serverCommand("ours", ports, { extraArgs: ["--reuse-port"] }));
  const run: ScaleOutRun = {
    processes: count,
    workload: workload.id,
    status: "start-failed",
    commands: commands.map((command) => command.args.slice(1).join(" ")),
  };
  const servers: RunningServer[] = [];
  try {
    for (const [index, command] of commands.entries()) {
      // Readiness by each process's own /readyz: a Binding probe on the shared port may reach another process.
      const metricsPort = blocks[index]!.metricsPort;
      servers.push(
        await startServer(command, block.listeningPort, join(logDir, `ours-x${count}-${index}.log`), readyTimeoutMs, () =>
          answersReadyz(metricsPort, 300),
        ),
      );
    }
  } catch (error) {
    await Promise.all(servers.map((server) => server.stop()));
    run.note = (error as Error).message.slice(0, 300);
    return run;
  }
  const before = servers.map((server) => sampleProcessTree(server.pid));
  const uclient = await drive();
  const after = servers.map((server) => sampleProcessTree(server.pid));
  const crashed = servers.find((server) => server.exit() !== undefined);
  await Promise.all(servers.map((server) => server.stop()));

  run.status = crashed ? "crashed" : uclient.status;
  if (uclient.lossPercent !== undefined) run.lossPercent = uclient.lossPercent;
  if (uclient.sent !== undefined) run.sent = uclient.sent;
  if (uclient.received !== undefined) run.received = uclient.received;
  if (uclient.kernelDrops) run.kernelDrops = uclient.kernelDrops;
  if (!crashed) {
    const seconds = (first: ProcessSample, last: ProcessSample): number =>
      Math.round(((last.cpuTicks - first.cpuTicks) / ticksPerSecond) * 100) / 100;
    run.perProcessCpuSeconds = after.map((sample, index) => seconds(before[index]!, sample));
    run.cpuSeconds = Math.round(run.perProcessCpuSeconds.reduce((sum, value) => sum + value, 0) * 100) / 100;
    run.peakRssMiB = Math.round((after.reduce((sum, sample) => sum + sample.peakRssKiB, 0) / 1024) * 10) / 10;
  } else {
    run.note = `a process exited during the run: ${crashed.logTail(300)}`;
  }
  if (uclient.status !== "ok" && !run.note) run.note = uclient.outputTail.split("\n").slice(-2).join(" ").trim();
  return run;
}
