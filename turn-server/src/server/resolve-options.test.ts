/** Option validation: defaults merged once, and every error names the setting (and its flag). */
import { describe, expect, it } from "vitest";
import type { TurnServerOptions } from "../options.ts";
import { resolveOptions } from "./resolve-options.ts";

const base: TurnServerOptions = {
  realm: "r",
  listeners: [{ transport: "udp", address: "127.0.0.1", port: 0 }],
  relayAddresses: ["127.0.0.1"],
  auth: () => null,
  peerPolicy: () => "deny",
};

describe("resolveOptions", () => {
  it("fills the documented defaults", () => {
    const resolved = resolveOptions(base);
    expect(resolved).toMatchObject({
      minPort: 49152,
      maxPort: 65535,
      maxLifetimeSeconds: 3600,
      defaultLifetimeSeconds: 600,
      maxPermissionsPerAllocation: 64,
      maxBytesPerSecond: 0,
      maxAllocationAgeSeconds: 0,
      nonceLifetimeSeconds: 600,
      software: "switchboard-turn",
      maxChannelNumber: 0x4fff,
      quota: null,
    });
    expect(resolved.relayEndpoints.get(4)).toMatchObject({ bindAddress: "127.0.0.1", reportedAddress: "127.0.0.1" });
  });

  it("reports external addresses per family", () => {
    const resolved = resolveOptions({ ...base, relayAddresses: ["0.0.0.0", "::1"], externalAddress: "203.0.113.5" });
    expect(resolved.relayEndpoints.get(4)).toMatchObject({ bindAddress: "0.0.0.0", reportedAddress: "203.0.113.5" });
    expect(resolved.relayEndpoints.get(6)).toMatchObject({ bindAddress: "::1", reportedAddress: "::1" });
  });

  it.each([
    [{ realm: "" }, /realm.*--realm/],
    [{ listeners: [] }, /listeners/],
    [{ listeners: [{ transport: "sctp", address: "127.0.0.1", port: 1 }] }, /listeners\[0\]\.transport/],
    [{ listeners: [{ transport: "udp", address: "localhost", port: 1 }] }, /listeners\[0\]\.address.*--listening-ip/],
    [{ listeners: [{ transport: "udp", address: "127.0.0.1", port: 70000 }] }, /listeners\[0\]\.port/],
    [{ listeners: [{ transport: "tls", address: "127.0.0.1", port: 0 }] }, /tls.*--cert/],
    [{ relayAddresses: [] }, /relayAddresses.*--relay-ip/],
    [{ relayAddresses: ["127.0.0.1", "127.0.0.2"] }, /at most one IPv4/],
    [{ relayAddresses: ["0.0.0.0"] }, /externalAddress \(--external-ip\)/],
    [{ externalAddress: "::2" }, /externalAddress.*no relay address of its family/],
    [{ minPort: 60000, maxPort: 50000 }, /minPort.*--min-port/],
    [{ defaultLifetimeSeconds: 7200 }, /defaultLifetimeSeconds/],
    [{ maxBytesPerSecond: -1 }, /maxBytesPerSecond/],
  ] as [Partial<TurnServerOptions>, RegExp][])("refuses %j naming the setting", (override, message) => {
    expect(() => resolveOptions({ ...base, ...override } as TurnServerOptions)).toThrow(message);
  });
});
