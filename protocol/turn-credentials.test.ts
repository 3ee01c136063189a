import { describe, expect, it } from "vitest";
import { mintTurnCredential, parseSecretList, turnPassword, turnUsernameExpiry } from "./turn-credentials.ts";

describe("TURN REST credentials", () => {
  it("matches a known HMAC-SHA1 vector (RFC 2202 test case 2)", async () => {
    // RFC 2202 §3 test case 2: key "Jefe", data "what do ya want for nothing?" → effcdf6a…
    const expectedHex = "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79";
    const expected = btoa(String.fromCharCode(...expectedHex.match(/../g)!.map((h) => Number.parseInt(h, 16))));
    expect(await turnPassword("Jefe", "what do ya want for nothing?")).toBe(expected);
  });

  it("mints expiry:user usernames", async () => {
    const credential = await mintTurnCredential("s", "alice", 60, 1000);
    expect(credential.username).toBe("1060:alice");
    expect(credential.expiresAt).toBe(1060);
    expect(credential.credential).toBe(await turnPassword("s", "1060:alice"));
    expect(turnUsernameExpiry(credential.username)).toBe(1060);
    expect(turnUsernameExpiry("alice")).toBeNull();
    expect(turnUsernameExpiry("1060")).toBe(1060);
  });

  it("parses secret lists", () => {
    expect(parseSecretList(" a, b ,,c")).toEqual(["a", "b", "c"]);
    expect(parseSecretList(undefined)).toEqual([]);
  });
});
