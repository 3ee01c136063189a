/**
 * JSON logs (pino) for the relay: one line per event, levels, ISO timestamps. The core only sees the
 * small `Logger` interface; this file subscribes to the core's events and writes the usage record
 * (one `allocation-ended` line per ended allocation, for billing and abuse handling) and rate-limited
 * lines for events an attacker can cause in bulk (auth failures, denied peers, quota refusals).
 */
import type { EventEmitter } from "node:events";
import { type DestinationStream, type Logger, pino } from "pino";
import type { LogLevel } from "./config.ts";
import type { TurnEvents, UsageRecord } from "./events.ts";
import type { ClientSource, Logger as CoreLogger } from "./handlers.ts";

export type { Logger } from "pino";

/** Options of the process logger. */
export interface LoggerOptions {
  /** Default "info". */
  level?: LogLevel;
  /** Added to every line as `node`, so lines from many relays can be told apart. */
  nodeId?: string;
  /** Where lines go. Default: stdout, written synchronously so nothing is lost at exit. */
  destination?: DestinationStream;
}

/** Creates the process logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? "info",
      base: { service: "switchboard-turn", ...(options.nodeId ? { node: options.nodeId } : {}) },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Level names, not numbers: log pipelines and people read them without a table.
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

function formatClient(client: ClientSource): string {
  const host = client.address.includes(":") ? `[${client.address}]` : client.address;
  return `${client.transport}://${host}:${client.port}`;
}

/** The fields of a usage record log line (event "allocation-ended"). */
export function usageRecordFields(record: UsageRecord): Record<string, unknown> {
  return {
    event: "allocation-ended",
    allocationId: record.allocationId,
    user: record.user,
    username: record.username,
    client: formatClient(record.client),
    relay: `${record.relayAddress.includes(":") ? `[${record.relayAddress}]` : record.relayAddress}:${record.relayPort}`,
    peers: record.peers,
    bytesFromClient: record.bytesFromClient,
    bytesToClient: record.bytesToClient,
    packetsFromClient: record.packetsFromClient,
    packetsToClient: record.packetsToClient,
    startedAt: new Date(record.startedAt).toISOString(),
    endedAt: new Date(record.endedAt).toISOString(),
    durationSeconds: record.durationSeconds,
    reason: record.reason,
  };
}

/** Logs at most `limit` lines per `windowMs` for one kind of event, then one line saying how many it skipped. */
export function rateLimitedLog(
  logger: Logger,
  level: "debug" | "info" | "warn" | "error",
  limit: number,
  windowMs: number,
  now = Date.now,
) {
  let windowStart = 0;
  let logged = 0;
  let suppressed = 0;
  return (fields: Record<string, unknown>, message: string): void => {
    const time = now();
    if (time - windowStart >= windowMs) {
      if (suppressed > 0)
        logger[level]({ event: fields.event, suppressed, windowSeconds: windowMs / 1000 }, `${message}: ${suppressed} more not logged`);
      windowStart = time;
      logged = 0;
      suppressed = 0;
    }
    if (logged < limit) {
      logged++;
      logger[level](fields, message);
    } else {
      suppressed++;
    }
  };
}

/**
 * The Logger handed to the relay core. The core logs each error it catches at a socket boundary; a
 * flood of hostile packets must not become a flood of log lines, so those are limited to 20 per 10 s
 * (with a count of the rest). Debug, info and warn pass straight through.
 */
export function coreLogger(logger: Logger): CoreLogger {
  const error = rateLimitedLog(logger, "error", 20, 10_000);
  return {
    debug: logger.debug.bind(logger),
    info: logger.info.bind(logger),
    warn: logger.warn.bind(logger),
    error: (fields, message) => error({ event: "internal-error", ...fields }, message ?? "error caught at boundary"),
  };
}

/**
 * Subscribes `logger` to the server's events: the usage record per ended allocation (info, never
 * rate-limited); auth failures, denied peers and quota refusals (at most 20 lines per 10 s each).
 * Allocations created and errors caught are logged by the core itself, through `coreLogger`.
 * Returns a function that unsubscribes.
 */
export function logServerEvents(server: EventEmitter<TurnEvents>, logger: Logger): () => void {
  const authFailure = rateLimitedLog(logger, "warn", 20, 10_000);
  const peerDenied = rateLimitedLog(logger, "info", 20, 10_000);
  const quotaRefused = rateLimitedLog(logger, "warn", 20, 10_000);

  const listeners: { [K in keyof TurnEvents]?: (...args: TurnEvents[K]) => void } = {
    "allocation-ended": (record) => logger.info(usageRecordFields(record), "allocation ended"),
    "auth-failure": (event) =>
      authFailure(
        { event: "auth-failure", client: formatClient(event.client), username: event.username, reason: event.reason },
        "authentication failed",
      ),
    "peer-denied": (event) =>
      peerDenied(
        { event: "peer-denied", client: formatClient(event.client), peer: event.peerAddress, code: event.code },
        "peer address denied",
      ),
    "quota-refused": (event) =>
      quotaRefused(
        { event: "quota-refused", client: formatClient(event.client), user: event.user, code: event.code },
        "allocation refused by quota",
      ),
    drained: () => logger.info({ event: "drained" }, "draining finished: no live allocations"),
  };
  for (const [name, listener] of Object.entries(listeners)) server.on(name as keyof TurnEvents, listener as (...args: unknown[]) => void);
  return () => {
    for (const [name, listener] of Object.entries(listeners))
      server.off(name as keyof TurnEvents, listener as (...args: unknown[]) => void);
  };
}
