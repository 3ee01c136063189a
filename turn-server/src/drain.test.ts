import { EventEmitter } from "node:events";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createDrainController, type DrainController } from "./drain.ts";
import type { TurnEvents, TurnStats } from "./events.ts";
import type { Logger } from "./handlers.ts";

function fakeServer(allocations: number) {
  const state = { allocations, draining: false, drainCalls: 0, alternate: undefined as { address: string; port: number } | undefined };
  const server = Object.assign(new EventEmitter<TurnEvents>(), {
    startDrain(alternate?: { address: string; port: number }) {
      state.draining = true;
      state.drainCalls++;
      state.alternate = alternate;
    },
    stats: () => ({ allocations: state.allocations, draining: state.draining }) as TurnStats,
  });
  return { server, state };
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function setup(allocations: number, drainTimeoutSeconds = 3600, alternate: { address: string; port: number } | null = null) {
  const { server, state } = fakeServer(allocations);
  const signals = new EventEmitter();
  const shutdowns: Array<[number, string]> = [];
  const exits: number[] = [];
  let drainStarts = 0;
  const controller = createDrainController({
    server,
    logger: silent,
    drainTimeoutSeconds,
    alternate,
    onDrainStart: () => drainStarts++,
    shutdown: (code, reason) => {
      shutdowns.push([code, reason]);
    },
    exitNow: (code) => exits.push(code),
    signals: signals as unknown as NodeJS.Process,
  });
  controller.installSignalHandlers();
  controllers.push(controller);
  return { server, state, signals, shutdowns, exits, controller, drainStarts: () => drainStarts };
}

const controllers: DrainController[] = [];
afterEach(() => {
  for (const controller of controllers.splice(0)) controller.dispose();
  vi.useRealTimers();
});

describe("drain", () => {
  it("redirects new allocations to --drain-alternate-server when one is set, else refuses them (508)", () => {
    const redirected = setup(1, 3600, { address: "203.0.113.8", port: 3478 });
    redirected.signals.emit("SIGTERM", "SIGTERM");
    expect(redirected.state.alternate).toEqual({ address: "203.0.113.8", port: 3478 });
    const refused = setup(1);
    refused.signals.emit("SIGTERM", "SIGTERM");
    expect(refused.state.drainCalls).toBe(1);
    expect(refused.state.alternate).toBeUndefined();
  });

  it("SIGTERM starts draining, keeps live allocations, exits 0 when the last one ends", async () => {
    const { server, state, signals, shutdowns, controller, drainStarts } = setup(2);
    signals.emit("SIGTERM", "SIGTERM");
    expect(state.drainCalls).toBe(1);
    expect(controller.draining).toBe(true);
    expect(drainStarts()).toBe(1);
    expect(shutdowns).toEqual([]);
    state.allocations = 0;
    server.emit("drained");
    await vi.waitFor(() => expect(shutdowns).toEqual([[0, "drained"]]));
  });

  it("exits at once when nothing is live", async () => {
    const { signals, shutdowns } = setup(0);
    signals.emit("SIGINT", "SIGINT");
    await vi.waitFor(() => expect(shutdowns).toEqual([[0, "drained"]]));
  });

  it("exits 0 at the drain deadline with allocations still live", async () => {
    vi.useFakeTimers();
    const { signals, shutdowns } = setup(3, 60);
    signals.emit("SIGTERM", "SIGTERM");
    await vi.advanceTimersByTimeAsync(59_000);
    expect(shutdowns).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(shutdowns).toEqual([[0, "drain-timeout"]]);
  });

  it("a drain timeout of 0 closes at once", async () => {
    const { signals, shutdowns } = setup(3, 0);
    signals.emit("SIGTERM", "SIGTERM");
    await vi.waitFor(() => expect(shutdowns).toEqual([[0, "drain-timeout"]]));
  });

  it("a second signal exits immediately with 128 + the signal number", () => {
    const first = setup(1);
    first.signals.emit("SIGTERM", "SIGTERM");
    first.signals.emit("SIGTERM", "SIGTERM");
    expect(first.exits).toEqual([143]);
    const second = setup(1);
    second.signals.emit("SIGINT", "SIGINT");
    second.signals.emit("SIGINT", "SIGINT");
    expect(second.exits).toEqual([130]);
    expect(second.state.drainCalls).toBe(1);
  });

  it("a registry drain stops new allocations but does not exit; a later SIGTERM does", async () => {
    const { server, state, signals, shutdowns, controller, drainStarts } = setup(1);
    controller.start("registry", false);
    controller.start("registry", false);
    expect(state.drainCalls).toBe(1);
    expect(drainStarts()).toBe(1);
    state.allocations = 0;
    server.emit("drained");
    await Promise.resolve();
    expect(shutdowns).toEqual([]);
    signals.emit("SIGTERM", "SIGTERM");
    expect(state.drainCalls).toBe(1);
    await vi.waitFor(() => expect(shutdowns).toEqual([[0, "drained"]]));
  });

  it("shuts down once even if drained fires twice", async () => {
    const { server, state, signals, shutdowns } = setup(1);
    signals.emit("SIGTERM", "SIGTERM");
    state.allocations = 0;
    server.emit("drained");
    server.emit("drained");
    await vi.waitFor(() => expect(shutdowns).toHaveLength(1));
    await new Promise((resolve) => setImmediate(resolve));
    expect(shutdowns).toHaveLength(1);
  });

  it("dispose removes the signal handlers", () => {
    const { signals, controller } = setup(1);
    controller.dispose();
    expect(signals.listenerCount("SIGTERM")).toBe(0);
    expect(signals.listenerCount("SIGINT")).toBe(0);
  });
});
