/** Per-address token buckets: one address running dry never affects another. */
import { describe, expect, it } from "vitest";
import { AddressRateLimiter } from "./rate-limit.ts";

describe("AddressRateLimiter", () => {
  it("spends a burst, refills over time, and keeps addresses apart", () => {
    let now = 0;
    const limiter = new AddressRateLimiter({ burst: 3, perSecond: 1, clock: () => now });
    expect([limiter.take("a"), limiter.take("a"), limiter.take("a"), limiter.take("a")]).toEqual([true, true, true, false]);
    expect(limiter.allows("a")).toBe(false);
    expect(limiter.take("b")).toBe(true);
    now += 1000;
    expect(limiter.take("a")).toBe(true);
    expect(limiter.take("a")).toBe(false);
  });

  it("stays bounded: the oldest address is forgotten (getting a fresh budget), and full buckets are pruned", () => {
    let now = 0;
    const limiter = new AddressRateLimiter({ burst: 1, perSecond: 1, maxAddresses: 2, clock: () => now });
    limiter.take("a");
    limiter.take("b");
    limiter.take("c");
    expect(limiter.size).toBe(2);
    expect(limiter.take("a")).toBe(true);
    now += 10_000;
    limiter.prune();
    expect(limiter.size).toBe(0);
  });
});
