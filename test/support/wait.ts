/** Bounded polling for conditions that have no event to await (a process becoming ready, stats changing). */
import { setTimeout as sleep } from "node:timers/promises";

/** Options of `eventually`. */
export interface EventuallyOptions {
  /** Give up after this long, ms (default 20 000). */
  timeoutMs?: number;
  /** Pause between attempts, ms (default 250). */
  intervalMs?: number;
  /** Stop early (and fail) when this returns a reason, e.g. "the TURN node exited". */
  abortIf?: () => string | undefined;
  /** Describes the last state seen, for the timeout message. */
  lastSeen?: () => string;
}

/**
 * Calls `check` until it returns a value other than `undefined` and resolves with it; a throw counts as
 * "not yet". Fails after `timeoutMs` (and at most 10 000 attempts) naming `what` and the last error.
 */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  options: EventuallyOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const intervalMs = options.intervalMs ?? 250;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const aborted = options.abortIf?.();
    if (aborted !== undefined) throw new Error(`gave up waiting for ${what}: ${aborted}`);
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() + intervalMs > deadline) break;
    await sleep(intervalMs);
  }
  const last = lastError === undefined ? "" : ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`;
  const seen = options.lastSeen ? `; last seen: ${options.lastSeen()}` : "";
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}${seen}`);
}
