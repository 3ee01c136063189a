import { describe, expect, it } from "vitest";
import { parseIceUrl, pickNodeUrls } from "./ice-url.ts";

describe("ICE URLs", () => {
  it("parses RFC 7064/7065 URLs", () => {
    expect(parseIceUrl("turn:Turn.Example.com:3478?transport=tcp")).toEqual({
      scheme: "turn",
      host: "turn.example.com",
      port: 3478,
      transport: "tcp",
    });
    expect(parseIceUrl("stun:203.0.113.7")).toEqual({ scheme: "stun", host: "203.0.113.7" });
    expect(parseIceUrl("turns:[2001:db8::1]:5349?transport=tcp")).toEqual({
      scheme: "turns",
      host: "2001:db8::1",
      port: 5349,
      transport: "tcp",
    });
    for (const bad of [
      "turn:",
      "turn:host:0",
      "turn:host:70000",
      "turn:user@host",
      "turn:host/path",
      "http://host",
      "turn:host?transport=sctp",
    ]) {
      expect(parseIceUrl(bad), bad).toBeNull();
    }
  });

  it("hands out at most four URLs of a node: STUN, TURN/UDP, TURN/TCP, TURNS first", () => {
    const urls = [
      "turn:a:3478?transport=tcp",
      "turn:[2001:db8::1]:3478",
      "turns:a:5349?transport=tcp",
      "turn:a:3478?transport=udp",
      "stun:a:3478",
      "stun:b:3478",
    ];
    expect(pickNodeUrls(urls)).toEqual({
      stun: ["stun:a:3478"],
      turn: ["turn:[2001:db8::1]:3478", "turn:a:3478?transport=tcp", "turns:a:5349?transport=tcp"],
    });
    // Without STUN the fourth slot goes to the next advertised URL.
    expect(pickNodeUrls(urls.filter((url) => !url.startsWith("stun"))).turn).toHaveLength(4);
    expect(pickNodeUrls(["turn:a:3478"])).toEqual({ stun: [], turn: ["turn:a:3478"] });
  });
});
