/**
 * The whole system for one e2e scenario: `wrangler dev` plus N TURN nodes that register with it by
 * heartbeat, on loopback or inside one network namespace. `teardown()` stops everything (also after a
 * failed start or test) and keeps the logs in test-results/e2e-logs/<name>/ for the CI artifacts.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { httpGet } from "./http.ts";
import { killAllProcesses } from "./processes.ts";
import { REPO_ROOT } from "./repo.ts";
import { makeSelfSignedCert } from "./tls-cert.ts";
import { startTurnNode, type TurnNode } from "./turn-node.ts";
import { eventually } from "./wait.ts";
import { type RunningWorker, startWorker } from "./worker.ts";

/** One TURN node of a stack. */
export interface StackNodeSpec {
  nodeId: string;
  /** UDP/TCP port (3501-3520). */
  port: number;
  /** TLS port (3501-3520); TLS only when set. */
  tlsPort?: number;
  /** /metrics port (9661-9680). */
  metricsPort: number;
  /** Relay port range, disjoint per node, so a relayed address names its node. */
  minRelayPort: number;
  maxRelayPort: number;
  extraArgs?: string[];
}

/** Options of `startStack`. */
export interface StackOptions {
  /** Scenario name: temp directory prefix and log folder. */
  name: string;
  workerPort: number;
  inspectorPort: number;
  workerVars?: Record<string, string>;
  nodes: StackNodeSpec[];
  /**
   * Run worker and nodes inside this namespace; `host` is its address that browsers reach. Without it,
   * everything listens on 127.0.0.1.
   */
  netns?: { name: string; host: string };
  /** Open 127.0.0.0/8 as relay peers (browsers on this host). */
  allowLoopbackPeers?: boolean;
  /** Open these ranges as relay peers (namespaced browsers). */
  allowedPeerIps?: string[];
}

/** A node record of `GET /v1/turn/nodes`. */
export interface RegistryNode {
  id: string;
  urls: string[];
  live: boolean;
  health: string;
  draining: boolean;
}

/** A running stack. */
export interface Stack {
  readonly worker: RunningWorker;
  readonly nodes: ReadonlyMap<string, TurnNode>;
  /** The node with this id (throws if unknown). */
  node(nodeId: string): TurnNode;
  /** The registry's view (`GET /v1/turn/nodes` with the admin token). */
  registry(): Promise<RegistryNode[]>;
  /** Waits until the registry lists each of `nodeIds` as live. */
  waitForLiveNodes(nodeIds: string[], timeoutMs?: number): Promise<void>;
  /** Stops every process, keeps the logs, removes the temporary directory. Idempotent. */
  teardown(): Promise<void>;
}

/** Starts the worker, then the nodes, and waits until the registry lists them all as live. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const workDir = mkdtempSync(join(tmpdir(), `sb-e2e-${options.name}-`));
  const nodes = new Map<string, TurnNode>();
  let worker: RunningWorker | undefined;
  let tornDown = false;
  const teardown = async () => {
    if (tornDown) return;
    tornDown = true;
    await Promise.all([...nodes.values()].map((node) => node.stop().catch(() => undefined)));
    await worker?.stop().catch(() => undefined);
    await killAllProcesses();
    keepLogs(workDir, options.name);
    rmSync(workDir, { recursive: true, force: true });
  };
  try {
    worker = await startWorker({
      port: options.workerPort,
      inspectorPort: options.inspectorPort,
      workDir,
      ...(options.workerVars ? { vars: options.workerVars } : {}),
      ...(options.netns ? { netns: options.netns } : {}),
    });
    const host = options.netns?.host ?? "127.0.0.1";
    const tls = options.nodes.some((node) => node.tlsPort !== undefined) ? makeSelfSignedCert(workDir, host) : undefined;
    for (const spec of options.nodes) {
      const node = await startTurnNode({
        nodeId: spec.nodeId,
        listeningIp: host,
        port: spec.port,
        ...(spec.tlsPort !== undefined && tls ? { tlsPort: spec.tlsPort, tls } : {}),
        minRelayPort: spec.minRelayPort,
        maxRelayPort: spec.maxRelayPort,
        metricsPort: spec.metricsPort,
        registryUrl: worker.loopbackOrigin,
        nodeToken: worker.vars.TURN_NODE_TOKEN ?? "",
        authSecrets: worker.vars.TURN_SECRETS ?? "",
        allowLoopbackPeers: options.allowLoopbackPeers ?? false,
        ...(options.allowedPeerIps ? { allowedPeerIps: options.allowedPeerIps } : {}),
        ...(spec.extraArgs ? { extraArgs: spec.extraArgs } : {}),
        ...(options.netns ? { netns: options.netns.name } : {}),
        workDir,
      });
      nodes.set(spec.nodeId, node);
    }
  } catch (error) {
    await teardown();
    throw error;
  }
  const running = worker;
  const registry = async (): Promise<RegistryNode[]> => {
    const answer = await httpGet(`${running.loopbackOrigin}/v1/turn/nodes`, {
      headers: { authorization: `Bearer ${running.vars.ADMIN_TOKEN}` },
      ...(running.netns ? { netns: running.netns } : {}),
    });
    if (answer?.status !== 200) throw new Error(`GET /v1/turn/nodes answered ${answer?.status ?? "nothing"}: ${answer?.body ?? ""}`);
    return (JSON.parse(answer.body) as { nodes: RegistryNode[] }).nodes;
  };
  const stack: Stack = {
    worker: running,
    nodes,
    node: (nodeId) => {
      const node = nodes.get(nodeId);
      if (!node) throw new Error(`no TURN node ${nodeId} in this stack`);
      return node;
    },
    registry,
    waitForLiveNodes: async (nodeIds, timeoutMs = 20_000) => {
      await eventually(
        `the registry to list ${nodeIds.join(", ")} as live`,
        async () => {
          const listed = await registry();
          return nodeIds.every((id) => listed.some((node) => node.id === id && node.live)) ? true : undefined;
        },
        { timeoutMs, intervalMs: 250 },
      );
    },
    teardown,
  };
  try {
    await stack.waitForLiveNodes(options.nodes.map((node) => node.nodeId));
  } catch (error) {
    const logs = [...nodes.values()].map((node) => `--- ${node.nodeId} ---\n${node.process.logTail(1500)}`).join("\n");
    await teardown();
    throw new Error(`${(error as Error).message}\n${logs}`);
  }
  return stack;
}

/** Copies the scenario's logs to test-results/e2e-logs/<name>/ (gitignored; CI keeps it as an artifact). */
function keepLogs(workDir: string, name: string): void {
  const target = join(REPO_ROOT, "test-results", "e2e-logs", name);
  try {
    rmSync(target, { recursive: true, force: true });
    mkdirSync(target, { recursive: true });
    for (const file of readdirSync(workDir)) if (file.endsWith(".log")) cpSync(join(workDir, file), join(target, file));
  } catch {
    // Logs are a convenience; never fail a teardown over them.
  }
}
