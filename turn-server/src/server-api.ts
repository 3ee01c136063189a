/** The public shape of the relay core; server.ts implements it as `createTurnServer(options)`. */
import type { EventEmitter } from "node:events";
import type { TurnEvents, TurnStats } from "./events.ts";
import type { ClientTransport } from "./handlers.ts";

/** A listener after binding (port resolved when 0 was asked for). */
export interface BoundListener {
  transport: ClientTransport;
  address: string;
  port: number;
}

/** A running TURN/STUN server. */
export interface TurnServer extends EventEmitter<TurnEvents> {
  /** Binds every listener; resolves with the bound addresses, rejects naming the address when a port is taken. */
  listen(): Promise<BoundListener[]>;
  /** Counters and gauges for metrics (cheap; no per-call allocation of note). */
  stats(): TurnStats;
  /**
   * Stops accepting new allocations: 300 ALTERNATE-SERVER to `alternate` when given, else 508.
   * Live allocations keep working; `drained` is emitted when the last one ends.
   */
  startDrain(alternate?: { address: string; port: number }): void;
  /** Closes every socket and timer; live allocations end with reason "shutdown". */
  close(): Promise<void>;
}
