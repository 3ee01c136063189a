import { describe, expect, it } from "vitest";
import { SendPacer } from "./send-pacer.ts";

describe("SendPacer", () => {
  it("allows a burst, then refills at 90 % of the server's rate", () => {
    const pacer = new SendPacer(50, 10, 0);
    for (let frame = 0; frame < 10; frame++) expect(pacer.take(0)).toBe(true);
    expect(pacer.take(0)).toBe(false);
    // 45 tokens/s → one token every ~22.2 ms.
    expect(pacer.msUntil(1, 0)).toBe(23);
    expect(pacer.take(22)).toBe(false);
    expect(pacer.take(23)).toBe(true);
    expect(pacer.available(10_000)).toBe(10);
  });

  it("keeps tokens back when asked, and lets control frames overdraw", () => {
    const pacer = new SendPacer(10, 4, 0);
    expect(pacer.take(0, 2)).toBe(true);
    expect(pacer.take(0, 2)).toBe(true);
    expect(pacer.take(0, 2)).toBe(false);
    pacer.force(0);
    pacer.force(0);
    pacer.force(0);
    expect(pacer.available(0)).toBe(-1);
    expect(pacer.msUntil(1, 0)).toBe(Math.ceil(2 / (9 / 1000)));
  });
});
