/**
 * The TURN/STUN relay core: `createTurnServer(options)` (pion/turn's NewServer). It validates options
 * once, binds the listeners, dispatches by method (server/dispatch.ts → one handler per TURN method),
 * runs one sweep timer for lifetimes, and reports through events and stats(), never by importing the
 * cli, metrics or logging code. Every socket callback sits behind an error boundary that emits
 * "internal-error" and keeps the process serving.
 *
 * Scaling past one core: Node runs this on one thread. Run N processes (e.g. node:cluster workers or one
 * systemd unit per core), each with `reusePort: true` on its listeners (SO_REUSEPORT; the kernel keeps a
 * client's 5-tuple on one process, so requests, ChannelData and the allocation meet) and a disjoint relay
 * port range (--min-port/--max-port split N ways), so peer traffic to a relay port reaches the process
 * that owns it. Allocations are independent, so no state is shared between processes.
 */
import { EventEmitter } from "node:events";
import { AllocationManager } from "./allocation/allocation-manager.ts";
import { PortAllocator } from "./allocation/port-allocator.ts";
import { createCounters, type RelayContext } from "./allocation/relay-context.ts";
import type { TurnEvents, TurnStats } from "./events.ts";
import { createNonceIssuer } from "./nonce.ts";
import type { TurnServerOptions } from "./options.ts";
import { AddressRateLimiter } from "./rate-limit.ts";
import type { ServerContext } from "./server/context.ts";
import { Dispatcher } from "./server/dispatch.ts";
import { resolveOptions } from "./server/resolve-options.ts";
import type { BoundListener, TurnServer } from "./server-api.ts";
import type { StreamListener } from "./transports/stream.ts";
import { createTcpListener } from "./transports/tcp.ts";
import { createTlsListener } from "./transports/tls.ts";
import { UdpListener } from "./transports/udp.ts";

/** How often lifetimes are checked; allocations end at most this late. */
const SWEEP_INTERVAL_MS = 1000;
/** Permissions, channels and rate-limit tables are pruned every this many sweeps. */
const PRUNE_EVERY_SWEEPS = 5;
/** 401 challenges per source address: generous (one per allocation a client makes), but bounded. */
const CHALLENGE_BURST = 1000;
const CHALLENGES_PER_SECOND = 500;
/** Failed credential checks per source address before that address is ignored for a while. */
const FAILURE_BURST = 30;
const FAILURES_PER_SECOND = 1;

class RelayServer extends EventEmitter<TurnEvents> implements TurnServer {
  private readonly context: ServerContext;
  private readonly dispatcher: Dispatcher;
  private readonly udpListeners: UdpListener[] = [];
  private readonly streamListeners: StreamListener[] = [];
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeps = 0;
  private drainedEmitted = false;
  private listening = false;

  constructor(options: TurnServerOptions) {
    super();
    const resolved = resolveOptions(options);
    const clock = resolved.clock;
    const counters = createCounters();
    const emitSafely = <K extends keyof TurnEvents>(event: K, ...args: TurnEvents[K]): void => {
      try {
        (this.emit as (event: K, ...args: TurnEvents[K]) => boolean)(event, ...args);
      } catch (error) {
        if (event !== "internal-error") this.reportError(`"${event}" listener`, error);
      }
    };
    const reportError = (where: string, error: unknown) => this.reportError(where, error);
    const reportedRelayAddresses = new Set([...resolved.relayEndpoints.values()].map((endpoint) => endpoint.reportedAddress));
    const relayContext: RelayContext = {
      clock,
      counters,
      reportError,
      isRelayAddress: (address) => reportedRelayAddresses.has(address),
      localRelay: (address, port) => allocations.byRelayAddress(address, port),
    };
    const allocations: AllocationManager = new AllocationManager({
      context: relayContext,
      ports: new PortAllocator(resolved.minPort, resolved.maxPort, resolved.udpIo.bind),
      onEnded: (allocation, record) => {
        resolved.logger.debug({ allocationId: allocation.id, reason: record.reason }, "allocation ended");
        emitSafely("allocation-ended", record);
        this.context.checkDrained();
      },
    });
    const context: ServerContext = {
      ...relayContext,
      options: resolved,
      allocations,
      nonces: createNonceIssuer({
        ...(resolved.nonceSecret !== undefined ? { secret: resolved.nonceSecret } : {}),
        lifetimeSeconds: resolved.nonceLifetimeSeconds,
        clock,
      }),
      challengeLimiter: new AddressRateLimiter({ burst: CHALLENGE_BURST, perSecond: CHALLENGES_PER_SECOND, clock }),
      failureLimiter: new AddressRateLimiter({ burst: FAILURE_BURST, perSecond: FAILURES_PER_SECOND, clock }),
      pendingAllocations: new Map(),
      drain: { active: false, alternate: null },
      closed: false,
      emit: emitSafely,
      checkDrained: () => this.checkDrained(),
    };
    this.context = context;
    this.dispatcher = new Dispatcher(context);
  }

  private reportError(where: string, error: unknown): void {
    try {
      this.context.options.logger.error({ where, err: error }, "error caught at boundary");
      this.emit("internal-error", { where, error });
    } catch {
      // A failing logger or subscriber must not turn one caught error into a crash.
    }
  }

  async listen(): Promise<BoundListener[]> {
    if (this.listening) throw new Error("listen() was already called");
    this.listening = true;
    const { options, clock } = this.context;
    const bound: BoundListener[] = [];
    try {
      for (const listener of options.listeners) {
        if (listener.transport === "udp") {
          const udp = new UdpListener(listener, this.dispatcher, options.udpIo);
          this.udpListeners.push(udp);
          bound.push(await udp.listen());
        } else {
          const stream =
            listener.transport === "tls"
              ? createTlsListener(listener, options.tls!, this.dispatcher, clock)
              : createTcpListener(listener, this.dispatcher, clock);
          this.streamListeners.push(stream);
          bound.push(await stream.listen());
        }
      }
    } catch (error) {
      await this.closeListeners();
      throw error;
    }
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
    return bound;
  }

  private sweep(): void {
    try {
      const now = this.context.clock();
      const prune = ++this.sweeps % PRUNE_EVERY_SWEEPS === 0;
      this.context.allocations.sweep(now, prune);
      for (const listener of this.streamListeners) listener.closeIdle(now);
      if (prune) {
        this.context.challengeLimiter.prune();
        this.context.failureLimiter.prune();
      }
    } catch (error) {
      this.reportError("sweep", error);
    }
  }

  stats(): TurnStats {
    return {
      ...this.context.counters,
      allocations: this.context.allocations.size,
      udpSendFailures: this.context.options.udpIo.sendFailures,
      draining: this.context.drain.active,
    };
  }

  startDrain(alternate?: { address: string; port: number }): void {
    this.context.drain.active = true;
    this.context.drain.alternate = alternate ?? null;
    this.checkDrained();
  }

  private checkDrained(): void {
    const context = this.context;
    if (!context.drain.active || this.drainedEmitted || context.allocations.size > 0 || context.pendingAllocations.size > 0) return;
    this.drainedEmitted = true;
    // Asynchronously, so a subscriber never runs inside the request or sweep that ended the last allocation.
    process.nextTick(() => context.emit("drained"));
  }

  private async closeListeners(): Promise<void> {
    await Promise.all([
      ...this.udpListeners.map((listener) => listener.close()),
      ...this.streamListeners.map((listener) => listener.close()),
    ]);
  }

  async close(): Promise<void> {
    if (this.context.closed) return;
    this.context.closed = true;
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    this.context.allocations.closeAll("shutdown");
    await this.closeListeners();
  }
}

/** Creates a TURN server; throws an Error naming the setting when `options` are invalid. Call listen() to start. */
export function createTurnServer(options: TurnServerOptions): TurnServer {
  return new RelayServer(options);
}
