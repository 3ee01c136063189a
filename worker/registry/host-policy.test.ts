import { describe, expect, it } from "vitest";
import { checkAdvertisedUrls, isHostAllowed } from "./host-policy.ts";

describe("TURN_NODE_HOSTS", () => {
  it("allows any host when empty", () => {
    expect(isHostAllowed("evil.example", [])).toBe(true);
  });

  it("matches exact hosts, IPs and * wildcards, case-insensitively", () => {
    const allowed = ["turn.example.com", "*.relay.example.com", "203.0.113.7", "10.0.*"];
    expect(isHostAllowed("turn.example.com", allowed)).toBe(true);
    expect(isHostAllowed("fra-1.relay.example.com", allowed)).toBe(true);
    expect(isHostAllowed("a.b.relay.example.com", allowed)).toBe(true);
    expect(isHostAllowed("relay.example.com", allowed)).toBe(false); // * needs at least one character
    expect(isHostAllowed("relay.example.com.evil.net", allowed)).toBe(false);
    expect(isHostAllowed("turnxexample.com", allowed)).toBe(false); // dots are literal
    expect(isHostAllowed("203.0.113.7", allowed)).toBe(true);
    expect(isHostAllowed("203.0.113.70", allowed)).toBe(false);
    expect(isHostAllowed("10.0.3.4", allowed)).toBe(true);
    expect(isHostAllowed("turn.example.com", ["TURN.Example.com"])).toBe(true);
  });

  it("reports the first malformed or disallowed URL by index", () => {
    const allowed = ["*.example.com"];
    expect(checkAdvertisedUrls(["turn:a.example.com:3478", "stun:b.example.com"], allowed)).toBeNull();
    expect(checkAdvertisedUrls(["turn:a.example.com:3478", "turn:attacker.net:3478"], allowed)).toEqual({
      index: 1,
      url: "turn:attacker.net:3478",
      reason: "host_not_allowed",
    });
    expect(checkAdvertisedUrls(["turn:a.example.com:99999"], allowed)).toMatchObject({ index: 0, reason: "malformed" });
  });
});
