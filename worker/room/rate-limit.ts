/**
 * A per-connection token bucket (RATE_LIMIT_PER_SECOND refill, RATE_LIMIT_BURST capacity). It lives in
 * memory only: after the room hibernates a connection starts again with a full bucket, which is harmless
 * because hibernation needs the connection to have been quiet.
 */
export class TokenBucket {
  readonly #ratePerMs: number;
  readonly #burst: number;
  #tokens: number;
  #updatedAt: number;

  constructor(ratePerSecond: number, burst: number, now: number) {
    this.#ratePerMs = ratePerSecond / 1000;
    this.#burst = burst;
    this.#tokens = burst;
    this.#updatedAt = now;
  }

  /** Takes one token at time `now` (ms); false when the bucket is empty (the frame is refused). */
  take(now: number): boolean {
    const elapsed = now - this.#updatedAt;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#ratePerMs);
      this.#updatedAt = now;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
