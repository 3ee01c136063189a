import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FLAGS, helpText, parseConfig, type TurnConfig } from "./config.ts";

const DEV = ["--listening-ip=127.0.0.1", "--user=alice:secret"];

function ok(argv: string[], env: Record<string, string> = {}): TurnConfig {
  const result = parseConfig(argv, env);
  if (result.kind !== "config") throw new Error(`expected a config, got ${JSON.stringify(result)}`);
  return result.config;
}

function errorsOf(argv: string[], env: Record<string, string> = {}): string[] {
  const result = parseConfig(argv, env);
  if (result.kind !== "error") throw new Error(`expected errors, got ${result.kind}`);
  return result.errors;
}

describe("defaults", () => {
  it("are secure and as documented", () => {
    const config = ok(DEV);
    expect(config).toMatchObject({
      realm: "switchboard",
      listeningIps: ["127.0.0.1"],
      listeningPort: 3478,
      tlsListeningPort: 5349,
      relayAddresses: ["127.0.0.1"],
      minPort: 49152,
      maxPort: 65535,
      peerPolicy: { allowLoopback: false, allowedPeerCidrs: [], deniedPeerCidrs: [] },
      userQuota: 128,
      totalQuota: 0,
      maxBytesPerSecond: 0,
      maxAllocationAgeSeconds: 0,
      metrics: { address: "127.0.0.1", port: 9641 },
      registry: null,
      drainTimeoutSeconds: 3600,
      logLevel: "info",
      publicHost: "127.0.0.1",
    });
    expect(config.tls).toBeUndefined();
    expect(config.legacyChannelNumbers).toBe(false);
    expect(config.listeners).toEqual([
      { transport: "udp", address: "127.0.0.1", port: 3478 },
      { transport: "tcp", address: "127.0.0.1", port: 3478 },
    ]);
  });

  it("refuse to start without auth, naming both ways to configure it", () => {
    const [message] = errorsOf(["--listening-ip=127.0.0.1"]);
    expect(message).toMatch(/^no auth configured: pass --use-auth-secret --static-auth-secret=… .* or --user name:password/);
  });

  it("refuse a wildcard listener without a relay or external address", () => {
    expect(errorsOf(["--user=a:b"]).join("\n")).toMatch(/--relay-ip is required when listening on a wildcard address/);
    expect(ok(["--user=a:b", "--external-ip=203.0.113.7"]).relayAddresses).toEqual(["0.0.0.0"]);
    expect(ok(["--user=a:b", "--relay-ip=10.0.0.5"]).relayAddresses).toEqual(["10.0.0.5"]);
  });
});

describe("flags", () => {
  it("parse every coturn-style flag", () => {
    const dir = mkdtempSync(join(tmpdir(), "turn-config-"));
    writeFileSync(join(dir, "cert.pem"), "cert");
    writeFileSync(join(dir, "key.pem"), "key");
    const config = ok([
      "--listening-ip=127.0.0.1",
      "--listening-ip",
      "::1",
      "--listening-port=3480",
      "--tls-listening-port=5350",
      `--cert=${join(dir, "cert.pem")}`,
      `--pkey=${join(dir, "key.pem")}`,
      "--relay-ip=127.0.0.2",
      "--external-ip=198.51.100.9",
      "--min-port=50000",
      "--max-port=50100",
      "--realm=example.org",
      "--use-auth-secret",
      "--static-auth-secret=first-secret-0123456789",
      "--static-auth-secret=second-secret-0123456789,third-secret-0123456789",
      "--user=bob:pa:ss",
      "--allow-loopback-peers",
      "--allowed-peer-ip=10.0.0.0/8",
      "--denied-peer-ip=10.0.0.5",
      "--denied-peer-ip=83.166.64.0-83.166.95.255",
      "--user-quota=10",
      "--total-quota=1000",
      "--max-bps=125000",
      "--max-allocation-age=7200",
      "--max-allocate-lifetime=900",
      "--default-allocate-lifetime=300",
      "--metrics-ip=0.0.0.0",
      "--metrics-port=9652",
      "--registry-url=https://switchboard.example.com/",
      "--node-token=tok",
      "--node-id=turn-1",
      "--region=eu-west",
      "--public-host=turn.example.com",
      "--heartbeat-interval=2.5",
      "--drain-timeout=60",
      "--log-level=debug",
      "--reuse-port",
      "--legacy-channel-numbers",
    ]);
    expect(config).toMatchObject({
      listeningIps: ["127.0.0.1", "::1"],
      listeningPort: 3480,
      tlsListeningPort: 5350,
      tls: { certPath: join(dir, "cert.pem"), keyPath: join(dir, "key.pem") },
      relayAddresses: ["127.0.0.2"],
      externalAddress: "198.51.100.9",
      minPort: 50000,
      maxPort: 50100,
      realm: "example.org",
      auth: {
        restSecrets: ["first-secret-0123456789", "second-secret-0123456789", "third-secret-0123456789"],
        users: [{ name: "bob", password: "pa:ss" }],
      },
      peerPolicy: { allowLoopback: true, allowedPeerCidrs: ["10.0.0.0/8"], deniedPeerCidrs: ["10.0.0.5", "83.166.64.0-83.166.95.255"] },
      userQuota: 10,
      totalQuota: 1000,
      maxBytesPerSecond: 125000,
      maxAllocationAgeSeconds: 7200,
      maxLifetimeSeconds: 900,
      defaultLifetimeSeconds: 300,
      metrics: { address: "0.0.0.0", port: 9652 },
      publicHost: "turn.example.com",
      registry: {
        url: "https://switchboard.example.com",
        token: "tok",
        nodeId: "turn-1",
        region: "eu-west",
        capacity: 1000,
        intervalSeconds: 2.5,
      },
      drainTimeoutSeconds: 60,
      logLevel: "debug",
    });
    expect(config.listeners).toEqual([
      { transport: "udp", address: "127.0.0.1", port: 3480, reusePort: true },
      { transport: "tcp", address: "127.0.0.1", port: 3480, reusePort: true },
      { transport: "tls", address: "127.0.0.1", port: 5350, reusePort: true },
      { transport: "udp", address: "::1", port: 3480, reusePort: true },
      { transport: "tcp", address: "::1", port: 3480, reusePort: true },
      { transport: "tls", address: "::1", port: 5350, reusePort: true },
    ]);
    expect(config.legacyChannelNumbers).toBe(true);
    expect(config.warnings.join("\n")).toMatch(/allow-loopback-peers/);
    expect(config.warnings.join("\n")).toMatch(/metrics listen on 0.0.0.0/);
  });

  it("take coturn's PUBLIC/PRIVATE --external-ip form", () => {
    const config = ok(["--user=a:b", "--external-ip=203.0.113.7/10.0.0.7"]);
    expect(config.externalAddress).toBe("203.0.113.7");
    expect(config.relayAddresses).toEqual(["10.0.0.7"]);
    expect(config.publicHost).toBe("203.0.113.7");
  });

  it("--metrics-port=off turns the HTTP server off; 0 asks for any free port", () => {
    expect(ok([...DEV, "--metrics-port=off"]).metrics).toBeNull();
    expect(ok([...DEV, "--metrics-port=0"]).metrics).toEqual({ address: "127.0.0.1", port: 0 });
  });

  it("--drain-alternate-server takes IPv4:PORT or [IPv6]:PORT and names itself when malformed", () => {
    expect(ok(DEV).drainAlternate).toBeNull();
    expect(ok([...DEV, "--drain-alternate-server=203.0.113.8:3478"]).drainAlternate).toEqual({ address: "203.0.113.8", port: 3478 });
    expect(ok([...DEV, "--drain-alternate-server=[2001:db8::8]:443"]).drainAlternate).toEqual({ address: "2001:db8::8", port: 443 });
    expect(ok(DEV, { TURN_DRAIN_ALTERNATE_SERVER: "198.51.100.2:3478" }).drainAlternate).toEqual({ address: "198.51.100.2", port: 3478 });
    for (const bad of ["turn.example.com:3478", "203.0.113.8", "203.0.113.8:0", "203.0.113.8:70000", "2001:db8::8:3478"]) {
      expect(errorsOf([...DEV, `--drain-alternate-server=${bad}`]).join("\n")).toMatch(/--drain-alternate-server=.*expected IP:PORT/);
    }
  });

  it("lifetimes: 3600 s max and 600 s default as in RFC 8656, the default capped by a smaller max", () => {
    expect(ok(DEV)).toMatchObject({ maxLifetimeSeconds: 3600, defaultLifetimeSeconds: 600 });
    expect(ok([...DEV, "--max-allocate-lifetime=10"])).toMatchObject({ maxLifetimeSeconds: 10, defaultLifetimeSeconds: 10 });
    expect(() => ok([...DEV, "--max-allocate-lifetime=0"])).toThrow(/max-allocate-lifetime/);
  });

  it("capacity defaults to --total-quota, else is left out", () => {
    const registry = ["--registry-url=http://127.0.0.1:9", "--node-token=t", "--region=r"];
    expect(ok([...DEV, ...registry]).registry?.capacity).toBeUndefined();
    expect(ok([...DEV, ...registry, "--total-quota=500"]).registry?.capacity).toBe(500);
    expect(ok([...DEV, ...registry, "--total-quota=500", "--capacity=50"]).registry?.capacity).toBe(50);
  });

  it("answers --help and --version before validating anything", () => {
    expect(parseConfig(["--help"], {}).kind).toBe("help");
    expect(parseConfig(["-h"], {}).kind).toBe("help");
    expect(parseConfig(["--version"], {}).kind).toBe("version");
  });
});

describe("environment variables", () => {
  it("map to every flag as TURN_<FLAG>", () => {
    for (const spec of FLAGS) {
      if (spec.name === "help" || spec.name === "version") expect(spec.env).toBeUndefined();
      else expect(spec.env).toBe(`TURN_${spec.name.toUpperCase().replaceAll("-", "_")}`);
    }
    expect(FLAGS.find((spec) => spec.name === "node-token")?.env).toBe("TURN_NODE_TOKEN");
    expect(FLAGS.find((spec) => spec.name === "registry-url")?.env).toBe("TURN_REGISTRY_URL");
  });

  it("configure the server, with comma lists for repeatable settings", () => {
    const config = ok([], {
      TURN_LISTENING_IP: "127.0.0.1, ::1",
      TURN_LISTENING_PORT: "3481",
      TURN_USE_AUTH_SECRET: "true",
      TURN_STATIC_AUTH_SECRET: "new-secret-0123456789,old-secret-0123456789",
      TURN_USER: "alice:one,bob:two",
      TURN_ALLOW_LOOPBACK_PEERS: "1",
      TURN_DENIED_PEER_IP: "8.8.8.8,1.1.1.0/24",
      TURN_REGISTRY_URL: "http://localhost:8787",
      TURN_NODE_TOKEN: "node-token",
      TURN_REGION: "local",
      TURN_METRICS_PORT: "off",
    });
    expect(config).toMatchObject({
      listeningIps: ["127.0.0.1", "::1"],
      listeningPort: 3481,
      relayAddresses: ["127.0.0.1", "::1"],
      auth: {
        restSecrets: ["new-secret-0123456789", "old-secret-0123456789"],
        users: [
          { name: "alice", password: "one" },
          { name: "bob", password: "two" },
        ],
      },
      peerPolicy: { allowLoopback: true, deniedPeerCidrs: ["8.8.8.8", "1.1.1.0/24"] },
      metrics: null,
      registry: { url: "http://localhost:8787", token: "node-token", region: "local" },
    });
  });

  it("lose to flags, which replace a whole list", () => {
    const config = ok(["--listening-port=4000", "--static-auth-secret=flag-secret-0123456789"], {
      TURN_LISTENING_IP: "127.0.0.1",
      TURN_LISTENING_PORT: "3481",
      TURN_USE_AUTH_SECRET: "yes",
      TURN_STATIC_AUTH_SECRET: "env-secret-0123456789,env-secret-2-0123456789",
    });
    expect(config.listeningPort).toBe(4000);
    expect(config.auth.restSecrets).toEqual(["flag-secret-0123456789"]);
  });

  it("name the variable in errors", () => {
    expect(errorsOf([], { TURN_LISTENING_IP: "127.0.0.1", TURN_USER: "a:b", TURN_MIN_PORT: "abc" })).toEqual([
      "TURN_MIN_PORT=abc: must be an integer 1–65535",
    ]);
    expect(errorsOf([], { TURN_LISTENING_IP: "127.0.0.1", TURN_USER: "a:b", TURN_ALLOW_LOOPBACK_PEERS: "maybe" })[0]).toMatch(
      /^TURN_ALLOW_LOOPBACK_PEERS=maybe: expected/,
    );
  });
});

describe("validation names the setting and the fix", () => {
  it.each([
    [["--min-port=60000", "--max-port=50000"], /--min-port \(60000\) must be ≤ --max-port \(50000\)/],
    [["--min-port=0"], /--min-port=0: must be an integer 1–65535/],
    [["--listening-port=70000"], /--listening-port=70000: must be an integer 0–65535/],
    [["--listening-ip=localhost"], /--listening-ip=localhost: not an IP address/],
    [["--relay-ip=127.0.0.1", "--relay-ip=127.0.0.2"], /at most one IPv4 and one IPv6/],
    [["--relay-ip=0.0.0.0"], /--relay-ip=0.0.0.0 is a wildcard/],
    [["--external-ip=2001:db8::7"], /--external-ip=2001:db8::7 has no --relay-ip of its family \(IPv6\)/],
    [["--external-ip=0.0.0.0"], /--external-ip=0.0.0.0: must be the public address/],
    [["--cert=/tmp/x.pem"], /--cert given without --pkey/],
    [["--pkey=/tmp/x.pem"], /--pkey given without --cert/],
    [["--cert=/nonexistent/cert.pem", "--pkey=/nonexistent/key.pem"], /--cert=\/nonexistent\/cert.pem: cannot read the file \(ENOENT\)/],
    [["--use-auth-secret"], /--use-auth-secret needs at least one --static-auth-secret/],
    [["--static-auth-secret=abcdefghijklmnopq"], /--static-auth-secret given without --use-auth-secret/],
    [["--user=nopassword"], /--user: entry 2 is not name:password/],
    [["--allowed-peer-ip=10.0.0.0/33"], /--allowed-peer-ip: "10.0.0.0\/33": prefix length must be 0–32/],
    [["--denied-peer-ip=10.1.0.0/8"], /did you mean 10.0.0.0\/8/],
    [["--metrics-port=http"], /--metrics-port=http: must be an integer 0–65535, or off/],
    [["--metrics-ip=any"], /--metrics-ip=any: not an IP address/],
    [["--registry-url=http://switchboard.example.com"], /must be https:\/\//],
    [["--registry-url=notaurl"], /not a URL/],
    [["--registry-url=https://x.example"], /--registry-url needs --node-token/],
    [["--registry-url=https://x.example", "--node-token=t"], /--registry-url needs --region/],
    [["--registry-url=https://x.example", "--node-token=t", "--region=r", "--node-id=bad id"], /--node-id=bad id: 1–64 letters/],
    [["--heartbeat-interval=0"], /--heartbeat-interval=0: must be a number of seconds/],
    [["--log-level=loud"], /--log-level=loud: one of trace, debug/],
    [["--realm=has space"], /--realm: at most 127 characters/],
    [["--frobnicate"], /^unknown flag --frobnicate \(see --help\)$/],
    [["--realm"], /--realm needs a value/],
    [["positional"], /Unexpected argument 'positional'/],
  ])("%j", (extra, expected) => {
    const errors = errorsOf([...DEV, ...extra]);
    expect(errors.join("\n")).toMatch(expected);
  });

  it("never echoes a --user password in an error", () => {
    const errors = errorsOf(["--listening-ip=127.0.0.1", "--user=hunter2"]);
    expect(errors.join("\n")).not.toContain("hunter2");
  });

  it("reports every problem at once", () => {
    expect(errorsOf(["--min-port=9", "--max-port=8", "--log-level=loud"]).length).toBe(4); // + no listener relay address
  });

  it("needs an address to advertise when heartbeating from a wildcard listener", () => {
    const errors = errorsOf(["--user=a:b", "--relay-ip=10.0.0.1", "--registry-url=https://x.example", "--node-token=t", "--region=r"]);
    expect(errors).toEqual([
      "--registry-url needs an address to advertise: pass --public-host=turn.example.com or --external-ip=PUBLIC-IP",
    ]);
  });
});

describe("--help", () => {
  it("lists every flag with its environment variable and default", () => {
    const help = helpText();
    for (const spec of FLAGS) {
      expect(help).toContain(`--${spec.name}`);
      if (spec.env) expect(help).toContain(`env ${spec.env}`);
      if (spec.default) expect(help).toContain(`default ${spec.default}`);
    }
  });
});

describe("docs/turn-server.md", () => {
  it("documents every flag and its environment variable", () => {
    const docs = readFileSync(new URL("../../docs/turn-server.md", import.meta.url), "utf8");
    for (const spec of FLAGS) {
      expect(docs).toContain(`\`--${spec.name}`);
      if (spec.env) expect(docs).toContain(`\`${spec.env}\``);
    }
  });
});
