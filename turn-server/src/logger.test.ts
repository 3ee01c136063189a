import { EventEmitter } from "node:events";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { TurnEvents, UsageRecord } from "./events.ts";
import { coreLogger, createLogger, logServerEvents, rateLimitedLog } from "./logger.ts";

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split("\n")) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { lines, destination };
}

const record: UsageRecord = {
  allocationId: "a1",
  user: "alice",
  username: "1700000000:alice",
  client: { address: "2001:db8::7", port: 50000, transport: "udp" },
  relayAddress: "203.0.113.7",
  relayPort: 49200,
  peers: 2,
  bytesFromClient: 1000,
  bytesToClient: 2000,
  packetsFromClient: 10,
  packetsToClient: 20,
  startedAt: Date.UTC(2026, 10, 26, 9, 0, 0),
  endedAt: Date.UTC(2026, 10, 26, 9, 1, 0),
  durationSeconds: 60,
  reason: "refresh-zero",
};

describe("logger", () => {
  it("writes JSON lines with level names, ISO time, service and node", () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: "info", nodeId: "turn-1", destination });
    logger.info({ event: "x" }, "hello");
    logger.debug({ event: "hidden" }, "not at info");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "info", service: "switchboard-turn", node: "turn-1", event: "x", msg: "hello" });
    expect(String(lines[0]!.time)).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it("writes one usage record per ended allocation", () => {
    const { lines, destination } = capture();
    const logger = createLogger({ destination });
    const server = new EventEmitter<TurnEvents>();
    const detach = logServerEvents(server, logger);
    server.emit("allocation-ended", record);
    expect(lines).toEqual([
      expect.objectContaining({
        level: "info",
        event: "allocation-ended",
        user: "alice",
        username: "1700000000:alice",
        client: "udp://[2001:db8::7]:50000",
        relay: "203.0.113.7:49200",
        peers: 2,
        bytesFromClient: 1000,
        bytesToClient: 2000,
        durationSeconds: 60,
        startedAt: "2026-11-26T09:00:00.000Z",
        endedAt: "2026-11-26T09:01:00.000Z",
        reason: "refresh-zero",
      }),
    ]);
    detach();
    server.emit("allocation-ended", record);
    expect(lines).toHaveLength(1);
    expect(server.listenerCount("allocation-ended")).toBe(0);
  });

  it("limits lines for events an attacker can cause in bulk, and says how many it skipped", () => {
    const { lines, destination } = capture();
    const logger = createLogger({ destination });
    const server = new EventEmitter<TurnEvents>();
    logServerEvents(server, logger);
    for (let index = 0; index < 1000; index++) {
      server.emit("auth-failure", {
        client: { address: "198.51.100.1", port: index, transport: "udp" },
        username: "x",
        reason: "bad integrity",
      });
    }
    expect(lines.filter((line) => line.event === "auth-failure")).toHaveLength(20);
    for (let index = 0; index < 5; index++) server.emit("allocation-ended", record);
    expect(lines.filter((line) => line.event === "allocation-ended")).toHaveLength(5);
  });

  it("rateLimitedLog reports the skipped count when the next window opens", () => {
    const { lines, destination } = capture();
    const logger = createLogger({ destination });
    let now = 0;
    const log = rateLimitedLog(logger, "warn", 2, 1000, () => now);
    for (let index = 0; index < 5; index++) log({ event: "e" }, "thing");
    now = 1000;
    log({ event: "e" }, "thing");
    expect(lines.map((line) => line.suppressed ?? "line")).toEqual(["line", "line", 3, "line"]);
  });

  it("the core's logger keeps caught errors with their stack, at most 20 per 10 s", () => {
    const { lines, destination } = capture();
    const logger = coreLogger(createLogger({ destination, level: "debug" }));
    logger.debug({ allocationId: "a" }, "allocation created");
    for (let index = 0; index < 100; index++)
      logger.error({ where: "udp:message", err: new RangeError("boom") }, "error caught at boundary");
    expect(lines[0]).toMatchObject({ level: "debug", allocationId: "a", msg: "allocation created" });
    const errors = lines.filter((line) => line.level === "error");
    expect(errors).toHaveLength(20);
    expect(errors[0]).toMatchObject({ event: "internal-error", where: "udp:message", err: { type: "RangeError", message: "boom" } });
    expect(String((errors[0]!.err as { stack: string }).stack)).toContain("RangeError: boom");
  });
});
