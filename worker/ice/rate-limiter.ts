/**
 * A keyed token-bucket limiter held in the isolate's memory (ICE_RATE_LIMIT_PER_MINUTE refill,
 * ICE_RATE_LIMIT_BURST capacity). It is per isolate: a client whose requests land on several isolates or
 * colos gets up to that many times the allowance, so it bounds abuse of one isolate's CPU and keeps an
 * honest client from hammering in a loop, not a global quota. A global quota would need a Durable Object
 * round trip per request (what the ICE path avoids) or Cloudflare's Rate Limiting binding.
 */

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/** Options of a limiter. */
export interface RateLimiterOptions {
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Bucket size: requests allowed at once. */
  burst: number;
  /** Most keys remembered; the least recently used is forgotten first (default 10 000). */
  maxKeys?: number;
  /** Clock in unix ms (tests pass their own). */
  clock?: () => number;
}

/** Per-key token buckets. */
export class RateLimiter {
  readonly #ratePerMs: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  readonly #clock: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: RateLimiterOptions) {
    this.#ratePerMs = options.ratePerSecond / 1000;
    this.#burst = options.burst;
    this.#maxKeys = options.maxKeys ?? 10_000;
    this.#clock = options.clock ?? Date.now;
  }

  /** Takes one token for `key`. Returns 0 when allowed, else the whole seconds to wait (for Retry-After). */
  take(key: string): number {
    const bucket = this.#refill(key);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return this.#waitSeconds(bucket);
  }

  /** Like take() but consumes nothing: 0 when a request for `key` would be allowed now. */
  peek(key: string): number {
    const bucket = this.#buckets.get(key);
    if (!bucket) return 0;
    const tokens = Math.min(this.#burst, bucket.tokens + (this.#clock() - bucket.updatedMs) * this.#ratePerMs);
    return tokens >= 1 ? 0 : this.#waitSeconds({ tokens, updatedMs: bucket.updatedMs });
  }

  #refill(key: string): Bucket {
    const now = this.#clock();
    let bucket = this.#buckets.get(key);
    if (bucket) {
      // Re-insert so Map order is least-recently-used first.
      this.#buckets.delete(key);
      bucket.tokens = Math.min(this.#burst, bucket.tokens + Math.max(0, now - bucket.updatedMs) * this.#ratePerMs);
      bucket.updatedMs = now;
    } else {
      bucket = { tokens: this.#burst, updatedMs: now };
      if (this.#buckets.size >= this.#maxKeys) {
        const oldest = this.#buckets.keys().next();
        if (!oldest.done) this.#buckets.delete(oldest.value);
      }
    }
    this.#buckets.set(key, bucket);
    return bucket;
  }

  #waitSeconds(bucket: Bucket): number {
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.#ratePerMs / 1000));
  }
}
