/**
 * coturn's command-line clients against our relay (Debian package `coturn`): turnutils_stunclient for
 * Binding, turnutils_uclient for Allocate/ChannelBind/relay over UDP and TCP between two clients (-y).
 * uclient picks channel numbers from RFC 5766's 0x4000–0x7FFF, hence legacyChannelNumbers.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./helpers/test-server.ts";

const run = promisify(execFile);
const haveCoturn = existsSync("/usr/bin/turnutils_uclient") && existsSync("/usr/bin/turnutils_stunclient");

let relay: TestServer;

beforeAll(async () => {
  relay = await startTestServer({ legacyChannelNumbers: true });
});

afterAll(async () => {
  await relay.close();
  expect(relay.internalErrors).toEqual([]);
});

describe.skipIf(!haveCoturn)("coturn clients", () => {
  it("turnutils_stunclient reads its reflexive address from our Binding response", async () => {
    const { stdout } = await run("turnutils_stunclient", ["-p", String(relay.udp.port), "127.0.0.1"], { timeout: 10_000 });
    expect(stdout).toMatch(/UDP reflexive addr: 127\.0\.0\.1:\d+/);
  });

  it.each([
    ["udp", []],
    ["tcp", ["-t"]],
  ])(
    "turnutils_uclient relays client to client over %s with no loss",
    async (transport, flags) => {
      const port = String(transport === "udp" ? relay.udp.port : relay.tcp.port);
      const before = relay.server.stats().packetsClientToPeer;
      const { stdout, stderr } = await run(
        "turnutils_uclient",
        [...flags, "-p", port, "-u", "alice", "-w", "secret", "-y", "-c", "-m", "2", "-n", "50", "-l", "171", "-z", "5", "127.0.0.1"],
        { timeout: 25_000 },
      );
      const output = stdout + stderr;
      expect(output).toMatch(/tot_send_msgs=100, tot_recv_msgs=100/);
      expect(output).toMatch(/Total lost packets 0 \(0\.000000%\)/);
      expect(relay.server.stats().packetsClientToPeer - before).toBeGreaterThanOrEqual(100);
    },
    30_000,
  );
});
