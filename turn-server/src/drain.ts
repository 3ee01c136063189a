/**
 * Graceful shutdown. The first SIGTERM or SIGINT starts a drain: the core refuses new allocations
 * (508, or 300 ALTERNATE-SERVER), the next heartbeat reports `draining` at once, /readyz answers 503,
 * and live allocations keep relaying until they end; then the process exits 0. At the drain deadline
 * (--drain-timeout) it closes what is left (usage records are still written) and exits 0 as well:
 * the deadline is the operator's decision, not a failure. A second signal exits at once with
 * 128 + the signal number (130 for SIGINT, 143 for SIGTERM), skipping the usage records of live calls.
 *
 * A drain requested by the registry (an operator's `POST /v1/turn/nodes/:id/drain`) only stops new
 * allocations and does not exit: the node stays out of rotation until someone stops it (a supervisor
 * that restarted a drained process would just bring it back into rotation).
 */
import type { EventEmitter } from "node:events";
import type { TurnEvents, TurnStats } from "./events.ts";
import type { Logger } from "./handlers.ts";

/** The part of the server drain uses. */
export type DrainableServer = EventEmitter<TurnEvents> & {
  startDrain(alternate?: { address: string; port: number }): void;
  stats(): TurnStats;
};

/** Where signals come from: `process` in production, an EventEmitter in tests. */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

/** Options of the drain controller. */
export interface DrainOptions {
  server: DrainableServer;
  logger: Logger;
  /** Where Allocate is redirected while draining (300 ALTERNATE-SERVER); default none (508). */
  alternate?: { address: string; port: number } | null;
  /** Seconds to wait for live allocations after a signal; 0 = close at once. */
  drainTimeoutSeconds: number;
  /** Called once when draining starts: report it in a heartbeat now, flip readiness. */
  onDrainStart?: () => void;
  /** Closes everything and ends the process with `code`; called at most once. */
  shutdown: (code: number, reason: "drained" | "drain-timeout") => void | Promise<void>;
  /** Ends the process immediately (second signal). Default process.exit. */
  exitNow?: (code: number) => void;
  /** Default process. */
  signals?: SignalSource;
}

/** Drain state and its triggers. */
export interface DrainController {
  readonly draining: boolean;
  /** Starts draining. `exitWhenDrained`: exit when the last allocation ends (signals) or stay up (registry). */
  start(reason: "signal" | "registry", exitWhenDrained: boolean): void;
  /** Listens for SIGTERM and SIGINT. */
  installSignalHandlers(): void;
  /** Removes signal handlers, listeners and timers. */
  dispose(): void;
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGTERM: 15 };

/** Creates the drain controller. */
export function createDrainController(options: DrainOptions): DrainController {
  const { server, logger } = options;
  const signals = options.signals ?? process;
  const exitNow = options.exitNow ?? ((code: number) => process.exit(code));
  let draining = false;
  let exitWhenDrained = false;
  let signalled = false;
  let deadline: NodeJS.Timeout | undefined;
  let shuttingDown = false;

  function shutdown(code: number, reason: "drained" | "drain-timeout"): void {
    if (shuttingDown) return;
    shuttingDown = true;
    clearTimeout(deadline);
    void Promise.resolve()
      .then(() => options.shutdown(code, reason))
      .catch((error: unknown) => {
        logger.error({ event: "shutdown-failed", err: error }, "shutdown failed; exiting anyway");
        exitNow(1);
      });
  }

  function onDrained(): void {
    if (exitWhenDrained) shutdown(0, "drained");
  }

  function armExit(): void {
    exitWhenDrained = true;
    const timeoutMs = options.drainTimeoutSeconds * 1000;
    if (server.stats().allocations === 0) {
      shutdown(0, "drained");
      return;
    }
    if (timeoutMs === 0) {
      shutdown(0, "drain-timeout");
      return;
    }
    deadline = setTimeout(() => {
      logger.warn(
        { event: "drain-timeout", allocations: server.stats().allocations, drainTimeoutSeconds: options.drainTimeoutSeconds },
        "drain deadline reached: closing the remaining allocations",
      );
      shutdown(0, "drain-timeout");
    }, timeoutMs);
  }

  function start(reason: "signal" | "registry", exitAfter: boolean): void {
    if (!draining) {
      draining = true;
      server.startDrain(options.alternate ?? undefined);
      logger.info(
        {
          event: "drain-started",
          reason,
          allocations: server.stats().allocations,
          drainTimeoutSeconds: exitAfter ? options.drainTimeoutSeconds : null,
          alternate: options.alternate ? `${options.alternate.address}:${options.alternate.port}` : null,
        },
        reason === "signal" ? "draining: refusing new allocations, serving live ones until they end" : "registry asked this node to drain",
      );
      options.onDrainStart?.();
    }
    if (exitAfter && !exitWhenDrained) armExit();
  }

  function onSignal(signal: NodeJS.Signals): void {
    if (signalled) {
      logger.warn({ event: "forced-exit", signal }, `second ${signal}: exiting now without waiting for live allocations`);
      exitNow(128 + (SIGNAL_NUMBERS[signal] ?? 0));
      return;
    }
    signalled = true;
    logger.info({ event: "signal", signal }, `${signal} received`);
    start("signal", true);
  }

  server.on("drained", onDrained);

  return {
    get draining() {
      return draining;
    },
    start,
    installSignalHandlers() {
      signals.on("SIGTERM", onSignal);
      signals.on("SIGINT", onSignal);
    },
    dispose() {
      clearTimeout(deadline);
      server.off("drained", onDrained);
      signals.off("SIGTERM", onSignal);
      signals.off("SIGINT", onSignal);
    },
  };
}
