import { describe, expect, it } from "vitest";
import { TokenBucket } from "./rate-limit.ts";
import { ABUSE_MAX_REFUSALS, ABUSE_WINDOW_MS, RefusalCounter } from "./refusals.ts";

describe("TokenBucket", () => {
  it("allows a burst, then refills at the rate", () => {
    const bucket = new TokenBucket(10, 3, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([true, true, true, false]);
    expect(bucket.take(50)).toBe(false); // half a token
    expect(bucket.take(100)).toBe(true); // one token after 100 ms at 10/s
    expect(bucket.take(100)).toBe(false);
    expect([bucket.take(10_000), bucket.take(10_000), bucket.take(10_000), bucket.take(10_000)]).toEqual([true, true, true, false]);
  });
});

describe("RefusalCounter", () => {
  it("crosses the abuse threshold only within one window", () => {
    const counter = new RefusalCounter();
    for (let index = 0; index < ABUSE_MAX_REFUSALS; index++) expect(counter.record(1000)).toBe(false);
    expect(counter.record(1000 + ABUSE_WINDOW_MS)).toBe(false); // a new window
    for (let index = 1; index < ABUSE_MAX_REFUSALS; index++) counter.record(1000 + ABUSE_WINDOW_MS);
    expect(counter.record(1000 + ABUSE_WINDOW_MS)).toBe(true);
  });
});
