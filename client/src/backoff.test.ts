import { describe, expect, it } from "vitest";
import { backoffDelay, DEFAULT_BACKOFF } from "./backoff.ts";

describe("backoffDelay", () => {
  it("grows exponentially and stays within [ceiling × (1 − jitter), ceiling]", () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(DEFAULT_BACKOFF.maxDelayMs, DEFAULT_BACKOFF.initialDelayMs * 2 ** attempt);
      expect(backoffDelay(attempt, {}, () => 0)).toBe(ceiling);
      expect(Math.abs(backoffDelay(attempt, {}, () => 0.999999) - ceiling / 2)).toBeLessThan(0.02);
      for (let sample = 0; sample < 50; sample++) {
        const delay = backoffDelay(attempt);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
    }
  });

  it("caps at maxDelayMs however many attempts failed", () => {
    expect(backoffDelay(1000, { maxDelayMs: 4000 }, () => 0)).toBe(4000);
    expect(backoffDelay(60, {}, () => 0)).toBe(DEFAULT_BACKOFF.maxDelayMs);
  });

  it("spreads clients apart: two random sources give different delays", () => {
    const delays = new Set(Array.from({ length: 20 }, () => Math.round(backoffDelay(4))));
    expect(delays.size).toBeGreaterThan(5);
  });

  it("honours custom settings and jitter 0", () => {
    expect(backoffDelay(0, { initialDelayMs: 100, jitter: 0 }, () => 0.7)).toBe(100);
    expect(backoffDelay(3, { initialDelayMs: 100, factor: 3, jitter: 0 })).toBe(2700);
  });
});
