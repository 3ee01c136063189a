/**
 * Per-source-address token buckets for unauthenticated work (401 challenges, failed credential checks):
 * one address that floods or guesses passwords runs out of its own budget and is then ignored, while every
 * other address keeps its full budget. The table is bounded: when full, the oldest entry is forgotten
 * (which only ever gives that address a fresh budget, never locks anyone out).
 */

/** Options of an AddressRateLimiter. */
export interface RateLimitOptions {
  /** Tokens an address starts with and can save up. */
  burst: number;
  /** Tokens added per second. */
  perSecond: number;
  /** Most addresses tracked at once. Default 65 536. */
  maxAddresses?: number;
  /** Milliseconds clock (tests). */
  clock?: () => number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** A token bucket per address. */
export class AddressRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly burst: number;
  private readonly perMillisecond: number;
  private readonly maxAddresses: number;
  private readonly clock: () => number;

  /** Creates a limiter; see RateLimitOptions. */
  constructor(options: RateLimitOptions) {
    this.burst = options.burst;
    this.perMillisecond = options.perSecond / 1000;
    this.maxAddresses = options.maxAddresses ?? 65_536;
    this.clock = options.clock ?? Date.now;
  }

  private refill(address: string): Bucket | undefined {
    const bucket = this.buckets.get(address);
    if (bucket) {
      const now = this.clock();
      bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.updatedAt) * this.perMillisecond);
      bucket.updatedAt = now;
    }
    return bucket;
  }

  /** True when `address` has at least one token left (consumes nothing). */
  allows(address: string): boolean {
    const bucket = this.refill(address);
    return bucket === undefined || bucket.tokens >= 1;
  }

  /** Consumes one token; false (and nothing consumed) when the address is out of budget. */
  take(address: string): boolean {
    let bucket = this.refill(address);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxAddresses) {
        const oldest = this.buckets.keys().next();
        if (!oldest.done) this.buckets.delete(oldest.value);
      }
      bucket = { tokens: this.burst, updatedAt: this.clock() };
      this.buckets.set(address, bucket);
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Forgets addresses whose bucket is full again (called from the server's periodic sweep). */
  prune(): void {
    for (const address of this.buckets.keys()) {
      const bucket = this.refill(address);
      if (bucket && bucket.tokens >= this.burst) this.buckets.delete(address);
    }
  }

  /** Addresses currently tracked. */
  get size(): number {
    return this.buckets.size;
  }
}
