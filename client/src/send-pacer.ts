/**
 * Client-side pacing for the room's per-connection rate limit. The server refuses frames beyond its token
 * bucket (RATE_LIMIT_PER_SECOND / RATE_LIMIT_BURST, announced in `welcome.limits`) and closes a connection
 * that keeps exceeding it; pacing on our side turns a burst of app frames into a short delay instead.
 */

/** A token bucket mirroring the server's, a little slower so arrival jitter never trips the real one. */
export class SendPacer {
  readonly #ratePerMs: number;
  readonly #burst: number;
  #tokens: number;
  #updatedAt: number;

  /** `safety` scales the refill rate (default 0.9: 10 % headroom). */
  constructor(ratePerSecond: number, burst: number, now: number, safety = 0.9) {
    this.#ratePerMs = (Math.max(0.001, ratePerSecond) * safety) / 1000;
    this.#burst = Math.max(1, burst);
    this.#tokens = this.#burst;
    this.#updatedAt = now;
  }

  /** Tokens available at `now` (fractional). */
  available(now: number): number {
    const elapsed = now - this.#updatedAt;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#ratePerMs);
      this.#updatedAt = now;
    }
    return this.#tokens;
  }

  /** Takes one token if at least `keep + 1` are available; returns whether it did. */
  take(now: number, keep = 0): boolean {
    if (this.available(now) < keep + 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Takes one token even when none is left (control frames that must go out, e.g. acks). */
  force(now: number): void {
    this.available(now);
    this.#tokens = Math.max(-this.#burst, this.#tokens - 1);
  }

  /** Milliseconds until `tokens` tokens are available. */
  msUntil(tokens: number, now: number): number {
    const missing = tokens - this.available(now);
    return missing <= 0 ? 0 : Math.ceil(missing / this.#ratePerMs);
  }
}
