/** Starts the PeerJS reference server (peerjs-server.ts) as a child process group and learns its port. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type GroupProcess, startGroup } from "./group-process.ts";

/** PeerJS's `key` query parameter for every bench client (an API namespace, not a secret). */
export const PEERJS_KEY = "bench";

/** A running PeerJS server. */
export interface PeerJsServer {
  process: GroupProcess;
  port: number;
}

/** Starts the server; throws (after stopping it) when it prints no port within `readyTimeoutMs`. */
export async function startPeerJs(repoRoot: string, workDir: string, readyTimeoutMs: number): Promise<PeerJsServer> {
  const logPath = join(workDir, "peerjs.log");
  const child = startGroup(process.execPath, [join(repoRoot, "bench/signaling/peerjs-server.ts"), PEERJS_KEY], logPath, process.env);
  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    const match = /\{"port":(\d+)\}/.exec(readFileSync(logPath, "utf8"));
    if (match) return { process: child, port: Number(match[1]) };
    if (child.exited()) throw new Error(`PeerJS server exited while starting:\n${child.logTail(1_500)}`);
    await sleep(100);
  }
  await child.stop();
  throw new Error(`PeerJS server printed no port within ${readyTimeoutMs} ms:\n${child.logTail(1_500)}`);
}
