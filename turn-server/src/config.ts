/**
 * The `switchboard-turn` settings: command-line flags (named like coturn's where coturn has the same
 * setting) and one `TURN_*` environment variable per flag. Parsed, defaulted and validated once at
 * start-up; every problem names the setting and the fix, and all problems are reported together.
 * Flags win over environment variables. Secure defaults: no auth configured refuses to start,
 * loopback and private peers are denied, metrics listen on 127.0.0.1 only.
 */
import { accessSync, constants } from "node:fs";
import { isIP } from "node:net";
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { parseSecretList } from "../../protocol/turn-credentials.ts";
import type { ListenerOptions } from "./options.ts";
import { parsePeerRange } from "./peer-policy.ts";

/** Log levels accepted by --log-level (pino's). */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** One flag: its environment variable, default (as shown in --help) and help text. */
export interface FlagSpec {
  name: string;
  type: "string" | "boolean";
  /** Repeatable on the command line; a comma list in the environment variable. */
  multiple?: boolean;
  short?: string;
  /** Value placeholder in --help. */
  value?: string;
  default?: string;
  help: string;
  /** Environment variable; none for --help and --version. */
  env?: string;
}

/** Environment variable of a flag: TURN_ + the flag name in upper snake case. */
function envName(flag: string): string {
  return `TURN_${flag.toUpperCase().replace(/-/g, "_")}`;
}

const SPECS: Array<Omit<FlagSpec, "env"> & { noEnv?: true }> = [
  {
    name: "listening-ip",
    type: "string",
    multiple: true,
    value: "IP",
    default: "0.0.0.0",
    help: "Address to listen on for clients (UDP, TCP and TLS); repeatable",
  },
  {
    name: "listening-port",
    type: "string",
    value: "PORT",
    default: "3478",
    help: "UDP and TCP port for STUN/TURN (0 = any free port, for tests)",
  },
  {
    name: "tls-listening-port",
    type: "string",
    value: "PORT",
    default: "5349",
    help: "TLS port (turns:); only used when --cert and --pkey are given",
  },
  { name: "cert", type: "string", value: "FILE", help: "PEM certificate chain for TLS (with --pkey)" },
  { name: "pkey", type: "string", value: "FILE", help: "PEM private key for TLS (with --cert)" },
  {
    name: "relay-ip",
    type: "string",
    multiple: true,
    value: "IP",
    default: "the listening IP",
    help: "Local address relay sockets bind to, one per family; required when listening on 0.0.0.0/:: without --external-ip",
  },
  {
    name: "external-ip",
    type: "string",
    value: "IP[/PRIVATE-IP]",
    help: "Public address behind 1:1 NAT, sent as the relayed address; PUBLIC/PRIVATE also sets --relay-ip",
  },
  { name: "min-port", type: "string", value: "PORT", default: "49152", help: "Lowest relay port" },
  { name: "max-port", type: "string", value: "PORT", default: "65535", help: "Highest relay port" },
  {
    name: "reuse-port",
    type: "boolean",
    help: "SO_REUSEPORT on the listeners, to run one process per core on the same ports (give each a disjoint --min-port/--max-port)",
  },
  { name: "realm", type: "string", value: "REALM", default: "switchboard", help: "Realm for long-term credentials (RFC 8489 §9.2)" },
  {
    name: "use-auth-secret",
    type: "boolean",
    help: "Accept TURN REST credentials (username <expiry>:<user>, password HMAC-SHA1 of it) signed by --static-auth-secret",
  },
  {
    name: "static-auth-secret",
    type: "string",
    multiple: true,
    value: "SECRET",
    help: "Shared secret(s) for --use-auth-secret; repeat or comma-separate to rotate (all are accepted). Prefer the env var: flags show in ps",
  },
  {
    name: "user",
    type: "string",
    multiple: true,
    short: "u",
    value: "NAME:PASSWORD",
    help: "Static user for development; repeatable (env: comma list)",
  },
  {
    name: "allow-loopback-peers",
    type: "boolean",
    help: "Allow relaying to 127.0.0.0/8 and ::1 (tests on one host only; never in production)",
  },
  {
    name: "allowed-peer-ip",
    type: "string",
    multiple: true,
    value: "CIDR|A-B",
    help: "Open a peer range the default policy denies (e.g. a private test network); repeatable",
  },
  {
    name: "denied-peer-ip",
    type: "string",
    multiple: true,
    value: "CIDR|A-B",
    help: "Deny a peer range; beats --allowed-peer-ip; repeatable",
  },
  {
    name: "user-quota",
    type: "string",
    value: "N",
    default: "128",
    help: "Live allocations per user (0 = unlimited); 128 covers a 16-peer relayed mesh with 3 URLs and ICE restarts",
  },
  {
    name: "total-quota",
    type: "string",
    value: "N",
    default: "0",
    help: "Live allocations on this node (0 = unlimited, bounded by the relay port range)",
  },
  {
    name: "max-bps",
    type: "string",
    value: "BYTES",
    default: "0",
    help: "Bandwidth cap per allocation in bytes/s, each direction (0 = unlimited), as coturn's max-bps",
  },
  {
    name: "udp-io",
    type: "string",
    value: "auto|native|dgram",
    default: "auto",
    help: "UDP sockets: native = batched recvmmsg/sendmmsg addon (Linux, npm run build:native), dgram = Node's dgram, auto = native when built",
  },
  {
    name: "legacy-channel-numbers",
    type: "boolean",
    help: "Also accept RFC 5766 channel numbers 0x5000–0x7FFF (coturn does; its turnutils_uclient uses them)",
  },
  {
    name: "max-allocate-lifetime",
    type: "string",
    value: "SECONDS",
    default: "3600",
    help: "Longest lifetime a client may ask for in Allocate/Refresh, as coturn's max-allocate-lifetime",
  },
  {
    name: "default-allocate-lifetime",
    type: "string",
    value: "SECONDS",
    default: "600",
    help: "Lifetime when the client asks for none (RFC 8656 §3.2; browsers never ask); capped at --max-allocate-lifetime",
  },
  {
    name: "max-allocation-age",
    type: "string",
    value: "SECONDS",
    default: "0",
    help: "End allocations this old however they are refreshed (0 = never)",
  },
  {
    name: "metrics-ip",
    type: "string",
    value: "IP",
    default: "127.0.0.1",
    help: "Address of the /metrics, /healthz and /readyz HTTP server",
  },
  {
    name: "metrics-port",
    type: "string",
    value: "PORT|off",
    default: "9641",
    help: "Port of that server (0 = any free port; off = no HTTP server)",
  },
  {
    name: "registry-url",
    type: "string",
    value: "URL",
    help: "Switchboard worker to send heartbeats to (https://…; http only for loopback)",
  },
  {
    name: "node-token",
    type: "string",
    value: "TOKEN",
    help: "Bearer token for heartbeats (the worker's TURN_NODE_TOKEN); required with --registry-url",
  },
  {
    name: "node-id",
    type: "string",
    value: "ID",
    default: "the host name",
    help: "This node's id in the registry (letters, digits, . _ -, at most 64)",
  },
  { name: "region", type: "string", value: "REGION", help: "Region this node serves (e.g. eu-west); required with --registry-url" },
  {
    name: "public-host",
    type: "string",
    value: "HOST",
    default: "--external-ip, else the listening IP",
    help: "Host name or address put in advertised ICE URLs",
  },
  {
    name: "capacity",
    type: "string",
    value: "N",
    default: "--total-quota if set",
    help: "Allocations this node is sized for; weights room placement in the registry",
  },
  {
    name: "heartbeat-interval",
    type: "string",
    value: "SECONDS",
    default: "5",
    help: "Seconds between heartbeats (keep well under the worker's TURN_NODE_TTL_SECONDS, 15)",
  },
  {
    name: "drain-timeout",
    type: "string",
    value: "SECONDS",
    default: "3600",
    help: "After SIGTERM/SIGINT, seconds to keep serving live allocations before exiting anyway",
  },
  {
    name: "drain-alternate-server",
    type: "string",
    value: "IP:PORT",
    help: "While draining, answer Allocate with 300 ALTERNATE-SERVER pointing here (a live node serving the same transports) instead of 508",
  },
  { name: "log-level", type: "string", value: "LEVEL", default: "info", help: `One of ${LOG_LEVELS.join(", ")}` },
  { name: "help", type: "boolean", short: "h", help: "Show this help", noEnv: true },
  { name: "version", type: "boolean", help: "Show the version", noEnv: true },
];

/** Every flag with its environment variable, in --help order. */
export const FLAGS: FlagSpec[] = SPECS.map(({ noEnv, ...spec }) => (noEnv ? spec : { ...spec, env: envName(spec.name) }));

/** Values of --udp-io. */
export const UDP_IO_MODES = ["auto", "native", "dgram"] as const;
export type UdpIoMode = (typeof UDP_IO_MODES)[number];

/** A static development user. */
export interface StaticUser {
  name: string;
  password: string;
}

/** Heartbeat settings, present when --registry-url is given. */
export interface RegistryConfig {
  url: string;
  token: string;
  nodeId: string;
  region: string;
  capacity?: number;
  intervalSeconds: number;
}

/** The validated settings: everything the core needs (less the handlers cli.ts builds) plus operations. */
export interface TurnConfig {
  realm: string;
  listeningIps: string[];
  listeningPort: number;
  tlsListeningPort: number;
  /** UDP and TCP on each listening IP; TLS too when certificate files are given. */
  listeners: ListenerOptions[];
  tls?: { certPath: string; keyPath: string };
  /** RFC 5766's 0x5000–0x7FFF channel numbers accepted too (--legacy-channel-numbers). */
  legacyChannelNumbers: boolean;
  /** --udp-io: which UDP implementation (auto = native when it loads, else dgram). */
  udpIo: UdpIoMode;
  relayAddresses: string[];
  externalAddress?: string;
  minPort: number;
  maxPort: number;
  auth: { restSecrets: string[]; users: StaticUser[] };
  peerPolicy: { allowLoopback: boolean; allowedPeerCidrs: string[]; deniedPeerCidrs: string[] };
  userQuota: number;
  totalQuota: number;
  maxBytesPerSecond: number;
  maxAllocationAgeSeconds: number;
  /** --max-allocate-lifetime: the longest lifetime granted. */
  maxLifetimeSeconds: number;
  /** --default-allocate-lifetime, capped at maxLifetimeSeconds: granted when the client asks for none. */
  defaultLifetimeSeconds: number;
  /** null when --metrics-port=off. */
  metrics: { address: string; port: number } | null;
  /** Host name put in advertised ICE URLs; undefined when there is none to advertise. */
  publicHost?: string;
  /** null without --registry-url. */
  registry: RegistryConfig | null;
  drainTimeoutSeconds: number;
  /** --drain-alternate-server: where Allocate is redirected while draining (null: 508). */
  drainAlternate: { address: string; port: number } | null;
  logLevel: LogLevel;
  /** Non-fatal remarks for the start-up log (development-only settings in use, weak secrets). */
  warnings: string[];
}

/** What parsing produced: settings, a request for help or version, or every problem found. */
export type ConfigResult =
  | { kind: "config"; config: TurnConfig }
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "error"; errors: string[] };

type Environment = Record<string, string | undefined>;

/** 0.0.0.0 or :: in any spelling. */
function isWildcard(ip: string): boolean {
  return ip === "0.0.0.0" || (isIP(ip) === 6 && /^[0:]+$/.test(ip));
}

/** Reads each flag from argv, else from its environment variable; lists stay lists. */
function readRaw(
  argv: string[],
  env: Environment,
  errors: string[],
): { values: Map<string, string | string[] | boolean>; source: Map<string, string> } | null {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }> = {};
  for (const spec of FLAGS) {
    options[spec.name] = { type: spec.type, ...(spec.multiple ? { multiple: true } : {}), ...(spec.short ? { short: spec.short } : {}) };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const unknown = /Unknown option '([^']+)'/.exec(message);
    if (unknown) errors.push(`unknown flag ${unknown[1]} (see --help)`);
    else if (/argument missing/.test(message)) errors.push(`${message.replace(/^Option '([^ ']+).*$/, "$1")} needs a value (see --help)`);
    else errors.push(`${message.split(". ")[0]} (see --help)`);
    return null;
  }
  const values = new Map<string, string | string[] | boolean>();
  const source = new Map<string, string>();
  for (const spec of FLAGS) {
    const fromFlag = (parsed.values as Record<string, string | string[] | boolean | undefined>)[spec.name];
    if (fromFlag !== undefined) {
      values.set(spec.name, fromFlag);
      source.set(spec.name, `--${spec.name}`);
      continue;
    }
    const fromEnv = spec.env ? env[spec.env] : undefined;
    if (fromEnv === undefined || !spec.env) continue;
    source.set(spec.name, spec.env);
    if (spec.type === "boolean") {
      const normalized = fromEnv.trim().toLowerCase();
      if (["1", "true", "yes", "on"].includes(normalized)) values.set(spec.name, true);
      else if (["", "0", "false", "no", "off"].includes(normalized)) values.set(spec.name, false);
      else errors.push(`${spec.env}=${fromEnv}: expected 1/true/yes/on or 0/false/no/off`);
    } else if (spec.multiple) {
      values.set(spec.name, [fromEnv]);
    } else if (fromEnv.trim() !== "") {
      values.set(spec.name, fromEnv.trim());
    }
  }
  return { values, source };
}

/** Splits repeated values and comma lists into one trimmed, non-empty list. */
function list(value: string | string[] | boolean | undefined): string[] {
  if (value === undefined || typeof value === "boolean") return [];
  const items = Array.isArray(value) ? value : [value];
  return items.flatMap((item) => parseSecretList(item));
}

/**
 * Parses argv (without node and script) and the environment into validated settings. Never throws
 * for bad input: problems come back as `{ kind: "error", errors }`, each naming the setting.
 */
export function parseConfig(argv: string[], env: Environment = process.env): ConfigResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  const raw = readRaw(argv, env, errors);
  if (!raw) return { kind: "error", errors };
  const { values, source } = raw;
  if (values.get("help") === true) return { kind: "help" };
  if (values.get("version") === true) return { kind: "version" };

  /** The setting's name as the operator gave it (flag or env var), for messages. */
  const named = (flag: string) => source.get(flag) ?? `--${flag}`;
  const text = (flag: string): string | undefined => {
    const value = values.get(flag);
    return typeof value === "string" ? value : undefined;
  };
  const flagSet = (flag: string) => values.get(flag) === true;
  const integer = (flag: string, fallback: number, min: number, max: number, hint = ""): number => {
    const value = text(flag);
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      errors.push(`${named(flag)}=${value}: must be an integer ${min}–${max}${hint}`);
      return fallback;
    }
    return Number(value);
  };
  const seconds = (flag: string, fallback: number, min: number, max: number): number => {
    const value = text(flag);
    if (value === undefined) return fallback;
    if (!/^\d+(\.\d+)?$/.test(value) || Number(value) < min || Number(value) > max) {
      errors.push(`${named(flag)}=${value}: must be a number of seconds ${min}–${max}`);
      return fallback;
    }
    return Number(value);
  };
  const choice = <T extends string>(flag: string, choices: readonly T[], fallback: T): T => {
    const value = (text(flag) ?? fallback) as T;
    if (!choices.includes(value)) errors.push(`${named(flag)}=${value}: one of ${choices.join(", ")}`);
    return value;
  };
  const ipAddress = (flag: string, value: string): boolean => {
    if (isIP(value) === 0 || value.includes("%")) {
      errors.push(`${named(flag)}=${value}: not an IP address (use a literal like 203.0.113.7 or 2001:db8::7)`);
      return false;
    }
    return true;
  };

  // Listeners.
  const listeningIps = list(values.get("listening-ip"));
  if (listeningIps.length === 0) listeningIps.push("0.0.0.0");
  for (const ip of listeningIps) ipAddress("listening-ip", ip);
  const listeningPort = integer("listening-port", 3478, 0, 65535);
  const tlsListeningPort = integer("tls-listening-port", 5349, 0, 65535);
  const certPath = text("cert");
  const keyPath = text("pkey");
  let tls: TurnConfig["tls"];
  if (certPath && !keyPath) errors.push(`${named("cert")} given without --pkey: TLS needs both the certificate and its key (TURN_PKEY)`);
  else if (keyPath && !certPath)
    errors.push(`${named("pkey")} given without --cert: TLS needs both the certificate and its key (TURN_CERT)`);
  else if (certPath && keyPath) {
    for (const [flag, path] of [
      ["cert", certPath],
      ["pkey", keyPath],
    ] as const) {
      try {
        accessSync(path, constants.R_OK);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
        errors.push(`${named(flag)}=${path}: cannot read the file (${code})`);
      }
    }
    tls = { certPath, keyPath };
    if (listeningPort !== 0 && listeningPort === tlsListeningPort) {
      errors.push(`--tls-listening-port must differ from --listening-port (${listeningPort}): TCP and TLS both need a TCP port`);
    }
  }
  const reuse = flagSet("reuse-port") ? { reusePort: true } : {};
  const listeners: ListenerOptions[] = [];
  for (const address of listeningIps) {
    listeners.push(
      { transport: "udp", address, port: listeningPort, ...reuse },
      { transport: "tcp", address, port: listeningPort, ...reuse },
    );
    if (tls) listeners.push({ transport: "tls", address, port: tlsListeningPort, ...reuse });
  }

  // Relay addresses and NAT.
  let externalAddress = text("external-ip");
  let relayAddresses = list(values.get("relay-ip"));
  if (externalAddress?.includes("/")) {
    // coturn's PUBLIC/PRIVATE form: the private part is the local relay address.
    const [publicPart, privatePart] = externalAddress.split("/") as [string, string];
    externalAddress = publicPart;
    if (relayAddresses.length === 0 && privatePart && ipAddress("external-ip", privatePart)) relayAddresses = [privatePart];
  }
  if (externalAddress !== undefined && ipAddress("external-ip", externalAddress) && isWildcard(externalAddress)) {
    errors.push(`${named("external-ip")}=${externalAddress}: must be the public address clients reach, not a wildcard`);
  }
  for (const ip of relayAddresses) ipAddress("relay-ip", ip);
  if (relayAddresses.length === 0) {
    const specific = listeningIps.filter((ip) => !isWildcard(ip));
    if (specific.length > 0) {
      // One per family, as the core takes them.
      const v4 = specific.find((ip) => isIP(ip) === 4);
      const v6 = specific.find((ip) => isIP(ip) === 6);
      relayAddresses = [v4, v6].filter((ip): ip is string => ip !== undefined);
    } else if (externalAddress) {
      relayAddresses = [isIP(externalAddress) === 6 ? "::" : "0.0.0.0"];
    } else {
      errors.push(
        "--relay-ip is required when listening on a wildcard address: pass the local address peers should reach (--relay-ip=IP), or --external-ip=PUBLIC-IP behind NAT",
      );
    }
  }
  if (relayAddresses.filter((ip) => isIP(ip) === 4).length > 1 || relayAddresses.filter((ip) => isIP(ip) === 6).length > 1) {
    errors.push(`${named("relay-ip")}: at most one IPv4 and one IPv6 address`);
  }
  for (const ip of relayAddresses) {
    if (isWildcard(ip) && !(externalAddress && isIP(externalAddress) === isIP(ip))) {
      errors.push(
        `--relay-ip=${ip} is a wildcard: clients would be told it as their relayed address; pass --external-ip=PUBLIC-IP of that family`,
      );
    }
  }
  if (externalAddress && isIP(externalAddress) !== 0 && !relayAddresses.some((ip) => isIP(ip) === isIP(externalAddress))) {
    errors.push(`${named("external-ip")}=${externalAddress} has no --relay-ip of its family (IPv${isIP(externalAddress)}): add one`);
  }
  const minPort = integer("min-port", 49152, 1, 65535);
  const maxPort = integer("max-port", 65535, 1, 65535);
  if (minPort > maxPort) errors.push(`--min-port (${minPort}) must be ≤ --max-port (${maxPort})`);

  // Auth.
  const realm = text("realm") ?? "switchboard";
  if (realm.length > 127 || /[\s"]/.test(realm))
    errors.push(`${named("realm")}: at most 127 characters, no spaces or quotes (RFC 8489 §14.9)`);
  const restSecrets = list(values.get("static-auth-secret"));
  const useAuthSecret = flagSet("use-auth-secret");
  const users: StaticUser[] = [];
  for (const [index, entry] of list(values.get("user")).entries()) {
    const colon = entry.indexOf(":");
    if (colon <= 0 || colon === entry.length - 1) {
      // Never echo the entry: it may be a password typed without its name.
      errors.push(`${named("user")}: entry ${index + 1} is not name:password`);
      continue;
    }
    users.push({ name: entry.slice(0, colon), password: entry.slice(colon + 1) });
  }
  if (useAuthSecret && restSecrets.length === 0) {
    errors.push("--use-auth-secret needs at least one --static-auth-secret (env TURN_STATIC_AUTH_SECRET, a comma list for rotation)");
  } else if (!useAuthSecret && restSecrets.length > 0) {
    errors.push(
      `${named("static-auth-secret")} given without --use-auth-secret: add --use-auth-secret (TURN_USE_AUTH_SECRET=1) to accept REST credentials`,
    );
  } else if (!useAuthSecret && users.length === 0) {
    errors.push(
      "no auth configured: pass --use-auth-secret --static-auth-secret=… (env TURN_USE_AUTH_SECRET=1 and TURN_STATIC_AUTH_SECRET) or --user name:password (development)",
    );
  }
  if (restSecrets.some((secret) => secret.length < 16))
    warnings.push("a --static-auth-secret is shorter than 16 characters: use 32+ random bytes");
  if (users.length > 0) warnings.push("static --user accounts are for development; production uses --use-auth-secret");

  // Peer policy.
  const allowLoopback = flagSet("allow-loopback-peers");
  const allowedPeerCidrs = list(values.get("allowed-peer-ip"));
  const deniedPeerCidrs = list(values.get("denied-peer-ip"));
  for (const [flag, entries] of [
    ["allowed-peer-ip", allowedPeerCidrs],
    ["denied-peer-ip", deniedPeerCidrs],
  ] as const) {
    for (const entry of entries) {
      const parsed = parsePeerRange(entry);
      if (!parsed.ok) errors.push(`${named(flag)}: ${parsed.message}`);
    }
  }
  if (allowLoopback) warnings.push("--allow-loopback-peers is on: clients can relay to this host's loopback services (tests only)");

  // Quotas and limits.
  const userQuota = integer("user-quota", 128, 0, 1_000_000);
  const totalQuota = integer("total-quota", 0, 0, 10_000_000);
  const maxBytesPerSecond = integer("max-bps", 0, 0, 10_000_000_000);
  const maxAllocationAgeSeconds = integer("max-allocation-age", 0, 0, 365 * 24 * 3600);
  const maxLifetimeSeconds = integer("max-allocate-lifetime", 3600, 1, 86_400);
  // The RFC default (600 s) is capped by a smaller maximum rather than refused, as coturn does.
  const defaultLifetimeSeconds = Math.min(integer("default-allocate-lifetime", 600, 1, 86_400), maxLifetimeSeconds);

  // Metrics and health.
  const metricsIp = text("metrics-ip") ?? "127.0.0.1";
  ipAddress("metrics-ip", metricsIp);
  let metrics: TurnConfig["metrics"] = null;
  if (text("metrics-port")?.toLowerCase() !== "off") {
    metrics = { address: metricsIp, port: integer("metrics-port", 9641, 0, 65535, ", or off") };
    if (!metricsIp.startsWith("127.") && metricsIp !== "::1")
      warnings.push(`metrics listen on ${metricsIp}: keep that port off the public internet`);
  }

  // Advertised host and registry.
  let publicHost = text("public-host");
  if (publicHost !== undefined && !/^[A-Za-z0-9.:[\]-]+$/.test(publicHost)) {
    errors.push(`${named("public-host")}=${publicHost}: expected a host name or IP address`);
  }
  publicHost = publicHost?.replace(/^\[(.*)\]$/, "$1") ?? externalAddress ?? listeningIps.find((ip) => !isWildcard(ip));
  let registry: RegistryConfig | null = null;
  const registryUrl = text("registry-url");
  const capacityValue = integer("capacity", 0, 1, 10_000_000);
  const intervalSeconds = seconds("heartbeat-interval", 5, 0.05, 60);
  if (registryUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(registryUrl);
    } catch {
      errors.push(`${named("registry-url")}=${registryUrl}: not a URL (e.g. https://switchboard.example.com)`);
    }
    if (url) {
      const loopbackHost = url.hostname === "localhost" || url.hostname.startsWith("127.") || url.hostname === "[::1]";
      if (url.protocol !== "https:" && !(url.protocol === "http:" && loopbackHost)) {
        errors.push(`${named("registry-url")}: must be https:// (the node token travels with every heartbeat); http:// only for loopback`);
      }
    }
    const token = text("node-token");
    if (!token) errors.push("--registry-url needs --node-token (env TURN_NODE_TOKEN, the worker's TURN_NODE_TOKEN)");
    const region = text("region");
    if (!region) errors.push("--registry-url needs --region (e.g. --region=eu-west)");
    else if (region.length > 64) errors.push(`${named("region")}: at most 64 characters`);
    const nodeId =
      text("node-id") ??
      hostname()
        .replace(/[^A-Za-z0-9._-]/g, "-")
        .slice(0, 64);
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(nodeId)) errors.push(`${named("node-id")}=${nodeId}: 1–64 letters, digits, '.', '_' or '-'`);
    if (!publicHost) {
      errors.push("--registry-url needs an address to advertise: pass --public-host=turn.example.com or --external-ip=PUBLIC-IP");
    }
    const capacity = capacityValue || totalQuota || undefined;
    registry = {
      url: registryUrl.replace(/\/+$/, ""),
      token: token ?? "",
      nodeId,
      region: region ?? "",
      ...(capacity ? { capacity } : {}),
      intervalSeconds,
    };
  }

  const drainTimeoutSeconds = integer("drain-timeout", 3600, 0, 7 * 24 * 3600);
  let drainAlternate: TurnConfig["drainAlternate"] = null;
  const alternateText = text("drain-alternate-server");
  if (alternateText !== undefined) {
    const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(alternateText);
    const address = match?.[1] ?? match?.[2];
    const port = Number(match?.[3]);
    if (address === undefined || isIP(address) === 0 || address.includes("%") || !(port >= 1 && port <= 65535)) {
      errors.push(`${named("drain-alternate-server")}=${alternateText}: expected IP:PORT, e.g. 203.0.113.8:3478 or [2001:db8::8]:3478`);
    } else {
      drainAlternate = { address, port };
    }
  }
  const udpIo = choice("udp-io", UDP_IO_MODES, "auto");
  const logLevel = choice("log-level", LOG_LEVELS, "info");

  if (errors.length > 0) return { kind: "error", errors };
  return {
    kind: "config",
    config: {
      realm,
      listeningIps,
      listeningPort,
      tlsListeningPort,
      listeners,
      ...(tls ? { tls } : {}),
      legacyChannelNumbers: flagSet("legacy-channel-numbers"),
      udpIo,
      relayAddresses,
      ...(externalAddress ? { externalAddress } : {}),
      minPort,
      maxPort,
      auth: { restSecrets, users },
      peerPolicy: { allowLoopback, allowedPeerCidrs, deniedPeerCidrs },
      userQuota,
      totalQuota,
      maxBytesPerSecond,
      maxAllocationAgeSeconds,
      maxLifetimeSeconds,
      defaultLifetimeSeconds,
      metrics,
      ...(publicHost ? { publicHost } : {}),
      registry,
      drainTimeoutSeconds,
      drainAlternate,
      logLevel,
      warnings,
    },
  };
}

/** The --help text: every flag, its environment variable and its default. */
export function helpText(): string {
  const lines = [
    "Usage: switchboard-turn [flags]",
    "",
    "STUN/TURN relay for Switchboard (RFC 8489, RFC 8656) over UDP, TCP and TLS.",
    "Every flag can also be set by its environment variable; a flag wins over the variable.",
    "Repeatable flags take a comma-separated list in the variable.",
    "",
  ];
  for (const spec of FLAGS) {
    const flag = `${spec.short ? `-${spec.short}, ` : "    "}--${spec.name}${spec.type === "string" ? `=${spec.value ?? "VALUE"}` : ""}`;
    lines.push(`  ${flag}`);
    lines.push(`        ${spec.help}`);
    const facts = [spec.env ? `env ${spec.env}` : undefined, spec.default ? `default ${spec.default}` : undefined].filter(Boolean);
    if (facts.length > 0) lines.push(`        (${facts.join("; ")})`);
  }
  lines.push(
    "",
    "Examples:",
    "  switchboard-turn --listening-ip=0.0.0.0 --external-ip=203.0.113.7 --use-auth-secret \\",
    "    --registry-url=https://switchboard.example.com --region=eu-west   # secrets from TURN_STATIC_AUTH_SECRET, TURN_NODE_TOKEN",
    "  switchboard-turn --listening-ip=127.0.0.1 --user=alice:secret --allow-loopback-peers   # local development",
  );
  return lines.join("\n");
}
