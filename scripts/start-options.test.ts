import { describe, expect, it } from "vitest";
import { parseStartOptions } from "./start-options.ts";

describe("npm start options", () => {
  it("defaults to the standard local ports on 127.0.0.1 with one TURN node", () => {
    expect(parseStartOptions([], {})).toEqual({
      kind: "run",
      options: { ip: "127.0.0.1", port: 8787, inspectorPort: 9229, turnPort: 3478, metricsPort: 9641, nodes: 1 },
    });
  });

  it("reads SWITCHBOARD_* variables, and flags win over them", () => {
    const env = { SWITCHBOARD_PORT: "8800", SWITCHBOARD_TURN_PORT: "3500", SWITCHBOARD_NODES: "2", SWITCHBOARD_PERSIST_TO: "/tmp/state" };
    const parsed = parseStartOptions(["--port", "8801", "--metrics-port=9700"], env);
    expect(parsed).toEqual({
      kind: "run",
      options: { ip: "127.0.0.1", port: 8801, inspectorPort: 9229, turnPort: 3500, metricsPort: 9700, nodes: 2, persistTo: "/tmp/state" },
    });
  });

  it("refuses bad values naming the flag or variable that carried them", () => {
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [["--port", "http"], {}, /^--port must be a whole number from 1 to 65535/],
      [[], { SWITCHBOARD_PORT: "70000" }, /^SWITCHBOARD_PORT must be a whole number/],
      [["--nodes", "5"], {}, /^--nodes must be a whole number from 0 to 4/],
      [["--turn-port", "65535", "--nodes", "2"], {}, /^--turn-port must be a whole number from 1 to 65534/],
      [["--ip", "localhost"], {}, /^--ip must be an IP address/],
      [["--ip", "0.0.0.0"], {}, /not 0\.0\.0\.0/],
      [["--ip", "192.168.1.20"], {}, /must be a loopback address.*--nodes 0/],
      [["--frobnicate"], {}, /Unknown option '--frobnicate'/],
    ];
    for (const [argv, env, message] of cases) {
      const parsed = parseStartOptions(argv, env);
      expect(parsed.kind, argv.join(" ")).toBe("error");
      if (parsed.kind === "error") expect(parsed.message).toMatch(message);
    }
  });

  it("serves the worker alone on a LAN address with --nodes 0", () => {
    const parsed = parseStartOptions(["--ip", "192.168.1.20", "--nodes", "0"], {});
    expect(parsed).toMatchObject({ kind: "run", options: { ip: "192.168.1.20", nodes: 0 } });
  });

  it("asks for help with -h or --help", () => {
    expect(parseStartOptions(["-h"], {})).toEqual({ kind: "help" });
    expect(parseStartOptions(["--port", "1", "--help"], {})).toEqual({ kind: "help" });
  });
});
