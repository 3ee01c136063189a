/** The default quota handler: per-user → 486, node-wide → 508, zero = unlimited. */
import { describe, expect, it } from "vitest";
import { quotaHandler } from "./quota.ts";

describe("quotaHandler", () => {
  it("refuses at the limits with the RFC 8656 codes", () => {
    const quota = quotaHandler({ userQuota: 2, totalQuota: 10 });
    expect(quota("u", { userAllocations: 1, totalAllocations: 9 })).toBe("ok");
    expect(quota("u", { userAllocations: 2, totalAllocations: 3 })).toMatchObject({ code: 486 });
    expect(quota("u", { userAllocations: 0, totalAllocations: 10 })).toMatchObject({ code: 508 });
    expect(quotaHandler({})("u", { userAllocations: 1e6, totalAllocations: 1e6 })).toBe("ok");
  });
});
