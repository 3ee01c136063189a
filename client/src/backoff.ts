/** Reconnect delays: exponential backoff with jitter, so a fleet of clients never reconnects in lockstep. */

/** Backoff settings; every field has a default. */
export interface BackoffOptions {
  /** First delay ceiling in ms (default 250). */
  initialDelayMs?: number;
  /** Largest delay ceiling in ms (default 10 000 — well inside the 30 s resume grace). */
  maxDelayMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Share of the ceiling that is randomised, 0–1 (default 0.5: a delay lies in [ceiling/2, ceiling]). */
  jitter?: number;
}

/** Defaults of BackoffOptions. */
export const DEFAULT_BACKOFF: Required<BackoffOptions> = { initialDelayMs: 250, maxDelayMs: 10_000, factor: 2, jitter: 0.5 };

/**
 * Delay before reconnect attempt `attempt` (0-based): ceiling = min(max, initial·factor^attempt), then a
 * uniformly random share `jitter` of it is taken off ("equal jitter", AWS Architecture Blog, Exponential
 * Backoff And Jitter). `random` is injectable for tests.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const { initialDelayMs, maxDelayMs, factor, jitter } = { ...DEFAULT_BACKOFF, ...options };
  const ceiling = Math.min(maxDelayMs, initialDelayMs * factor ** Math.max(0, attempt));
  return ceiling * (1 - jitter * random());
}
