import { describe, expect, it } from "vitest";
import { RateLimiter } from "./rate-limiter.ts";

describe("RateLimiter", () => {
  it("allows a burst, then refills at the rate, per key", () => {
    let now = 0;
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 3, clock: () => now });
    expect([limiter.take("a"), limiter.take("a"), limiter.take("a")]).toEqual([0, 0, 0]);
    expect(limiter.take("a")).toBe(1);
    expect(limiter.take("b")).toBe(0); // another client has its own bucket
    now = 999;
    expect(limiter.peek("a")).toBe(1);
    now = 1000;
    expect(limiter.peek("a")).toBe(0);
    expect(limiter.take("a")).toBe(0);
    expect(limiter.take("a")).toBe(1);
  });

  it("says how long to wait at slow rates", () => {
    let now = 0;
    const limiter = new RateLimiter({ ratePerSecond: 1 / 60, burst: 1, clock: () => now });
    expect(limiter.take("a")).toBe(0);
    expect(limiter.take("a")).toBe(60);
    now = 30_000;
    expect(limiter.take("a")).toBe(30);
  });

  it("forgets the least recently used key beyond maxKeys", () => {
    const limiter = new RateLimiter({ ratePerSecond: 0.001, burst: 1, maxKeys: 2, clock: () => 0 });
    limiter.take("a");
    limiter.take("b");
    limiter.take("a"); // refused, and a becomes most recent
    limiter.take("c"); // evicts b
    expect(limiter.peek("a")).toBeGreaterThan(0);
    expect(limiter.peek("b")).toBe(0);
  });
});
