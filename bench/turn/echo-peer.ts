/**
 * coturn's `turnutils_peer` as the external peer of a workload: a UDP echo server on 127.0.0.1, so relayed
 * traffic leaves the TURN server through its relay socket and comes back (no in-process shortcut possible).
 */
import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";

/** A running echo peer. */
export interface EchoPeer {
  stop(): Promise<void>;
}

/** Starts turnutils_peer on 127.0.0.1:port and resolves once it echoes a datagram (within `timeoutMs`). */
export async function startEchoPeer(port: number, timeoutMs: number): Promise<EchoPeer> {
  const child = spawn("turnutils_peer", ["-L", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const peer: EchoPeer = {
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`turnutils_peer exited (code ${child.exitCode}) on port ${port}`);
    if (await echoes(port, 300)) return peer;
  }
  await peer.stop();
  throw new Error(`turnutils_peer on 127.0.0.1:${port} did not echo within ${timeoutMs} ms`);
}

function echoes(port: number, timeoutMs: number): Promise<boolean> {
  const socket = createSocket("udp4");
  const probe = Buffer.from("bench-turn echo probe");
  return new Promise((resolve) => {
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on("error", () => {
      // Not listening yet: the timer decides.
    });
    socket.on("message", (data) => finish(data.equals(probe)));
    socket.send(probe, port, "127.0.0.1");
  });
}
