/** Everything the method handlers share: settings, tables, limiters, counters and the event emitter. */
import type { AllocationManager } from "../allocation/allocation-manager.ts";
import type { RelayContext } from "../allocation/relay-context.ts";
import type { TurnEvents } from "../events.ts";
import type { NonceIssuer } from "../nonce.ts";
import type { AddressRateLimiter } from "../rate-limit.ts";
import type { ResolvedOptions } from "./resolve-options.ts";

/** The server's shared state, passed to every handler. */
export interface ServerContext extends RelayContext {
  readonly options: ResolvedOptions;
  readonly allocations: AllocationManager;
  readonly nonces: NonceIssuer;
  /** 401 challenges per source address. */
  readonly challengeLimiter: AddressRateLimiter;
  /** Failed credential checks per source address. */
  readonly failureLimiter: AddressRateLimiter;
  /** Allocates in flight (auth or port binding pending), by 5-tuple: their retransmissions are ignored. */
  readonly pendingAllocations: Map<string, Buffer>;
  readonly drain: { active: boolean; alternate: { address: string; port: number } | null };
  /** Set by close(): late asynchronous work must not create anything. */
  closed: boolean;
  /** Emits an event; a throwing subscriber is reported, never propagated into the relay. */
  emit<K extends keyof TurnEvents>(event: K, ...args: TurnEvents[K]): void;
  /** Re-checks whether draining has finished (called when allocations end or pending Allocates settle). */
  checkDrained(): void;
}
