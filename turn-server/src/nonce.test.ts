/** Stateless nonces: bound to time and client address, stale after their lifetime. */
import { describe, expect, it } from "vitest";
import { createNonceIssuer } from "./nonce.ts";

describe("createNonceIssuer", () => {
  it("accepts its own fresh nonce for the same address only, until it is too old", () => {
    let now = 1_000_000_000;
    const issuer = createNonceIssuer({ secret: "k", lifetimeSeconds: 60, clock: () => now });
    const nonce = issuer.issue("192.0.2.1");
    expect(nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(issuer.isValid(nonce, "192.0.2.1")).toBe(true);
    expect(issuer.isValid(nonce, "192.0.2.2")).toBe(false);
    now += 60_000;
    expect(issuer.isValid(nonce, "192.0.2.1")).toBe(true);
    now += 1_000;
    expect(issuer.isValid(nonce, "192.0.2.1")).toBe(false);
  });

  it("refuses forgeries, other secrets and garbage", () => {
    const issuer = createNonceIssuer({ secret: "k", lifetimeSeconds: 60 });
    const other = createNonceIssuer({ secret: "other", lifetimeSeconds: 60 });
    const nonce = issuer.issue("192.0.2.1");
    expect(other.isValid(nonce, "192.0.2.1")).toBe(false);
    const tampered = nonce.slice(0, 8) + (nonce[8] === "0" ? "1" : "0") + nonce.slice(9);
    expect(issuer.isValid(tampered, "192.0.2.1")).toBe(false);
    expect(issuer.isValid("", "192.0.2.1")).toBe(false);
    expect(issuer.isValid("zzzzzzzz".padEnd(32, "0"), "192.0.2.1")).toBe(false);
    // A later issue time, re-signed by nobody: rejected.
    expect(issuer.isValid(`ffffffff${nonce.slice(8)}`, "192.0.2.1")).toBe(false);
  });
});
