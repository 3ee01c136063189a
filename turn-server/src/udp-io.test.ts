import { describe, expect, it } from "vitest";
import { parseConfig } from "./config.ts";
import { dgramIo } from "./transports/dgram-io.ts";
import { selectUdpIo } from "./udp-io.ts";

const notBuilt = () => {
  throw new Error("the batched UDP addon is not built (…/udp_batch.node): run npm run build:native");
};

describe("--udp-io", () => {
  it("auto and native take the native path when it loads (npm test builds it)", () => {
    expect(selectUdpIo("auto")).toMatchObject({ io: { name: "native" }, fallbackReason: null });
    expect(selectUdpIo("native").io.name).toBe("native");
  });

  it("dgram never loads the addon", () => {
    expect(selectUdpIo("dgram", notBuilt)).toEqual({ io: dgramIo, fallbackReason: null });
  });

  it("auto falls back to dgram and says why; native refuses to start, naming the flag and the fix", () => {
    expect(selectUdpIo("auto", notBuilt)).toEqual({ io: dgramIo, fallbackReason: expect.stringContaining("npm run build:native") });
    expect(() => selectUdpIo("native", notBuilt)).toThrow(/^--udp-io=native: .*npm run build:native/);
  });

  it("accepts auto, native and dgram (flag or TURN_UDP_IO), default auto, and names the flag otherwise", () => {
    const dev = ["--listening-ip=127.0.0.1", "--user=alice:secret"];
    const mode = (argv: string[], env: Record<string, string> = {}) => {
      const result = parseConfig([...dev, ...argv], env);
      return result.kind === "config" ? result.config.udpIo : result;
    };
    expect(mode([])).toBe("auto");
    expect(mode(["--udp-io=dgram"])).toBe("dgram");
    expect(mode([], { TURN_UDP_IO: "native" })).toBe("native");
    expect(mode(["--udp-io=fast"])).toEqual({
      kind: "error",
      errors: [expect.stringMatching(/--udp-io=fast: one of auto, native, dgram/)],
    });
  });
});
