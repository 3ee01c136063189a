/**
 * TurnServerOptions → validated settings with defaults merged, once, at construction (STYLE principle 4).
 * Every error names the option (and the coturn-style flag the CLI maps to it) and what would be valid.
 */
import type { RelayEndpoint } from "../allocation/allocation-manager.ts";
import { type AuthHandler, type Logger, type PeerPolicy, type QuotaHandler, silentLogger } from "../handlers.ts";
import type { ListenerOptions, TurnServerOptions } from "../options.ts";
import { LEGACY_MAX_CHANNEL_NUMBER, MAX_CHANNEL_NUMBER } from "../stun/constants.ts";
import { canonicalIp, ipFamily, parseIp } from "../stun/ip.ts";
import type { DatagramIo } from "../transports/datagram.ts";
import { dgramIo } from "../transports/dgram-io.ts";

/** Options after validation and defaults. */
export interface ResolvedOptions {
  realm: string;
  software: string;
  listeners: ListenerOptions[];
  tls: { cert: string | Uint8Array; key: string | Uint8Array } | null;
  relayEndpoints: Map<4 | 6, RelayEndpoint>;
  minPort: number;
  maxPort: number;
  auth: AuthHandler;
  peerPolicy: PeerPolicy;
  quota: QuotaHandler | null;
  maxBytesPerSecond: number;
  maxPermissionsPerAllocation: number;
  maxLifetimeSeconds: number;
  defaultLifetimeSeconds: number;
  maxAllocationAgeSeconds: number;
  nonceSecret: string | undefined;
  nonceLifetimeSeconds: number;
  logger: Logger;
  /** Highest channel number ChannelBind accepts: 0x4FFF (RFC 8656) or 0x7FFF (legacyChannelNumbers, RFC 5766). */
  maxChannelNumber: number;
  udpIo: DatagramIo;
  clock: () => number;
}

function fail(setting: string, message: string): never {
  throw new Error(`TurnServerOptions.${setting}: ${message}`);
}

function integer(setting: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const resolved = value ?? fallback;
  if (!Number.isInteger(resolved) || resolved < min || resolved > max)
    fail(setting, `must be an integer from ${min} to ${max}, got ${String(value)}`);
  return resolved;
}

function isUnspecified(address: string): boolean {
  return address === "0.0.0.0" || canonicalIp(address) === "::";
}

/** Validates `options` and fills defaults; throws an Error naming the first bad setting. */
export function resolveOptions(options: TurnServerOptions): ResolvedOptions {
  if (typeof options.realm !== "string" || options.realm.length === 0) fail("realm", "required (--realm), e.g. the TURN host name");
  if (!Array.isArray(options.listeners) || options.listeners.length === 0)
    fail("listeners", "at least one listener is required (--listening-port)");
  options.listeners.forEach((listener, index) => {
    const where = `listeners[${index}]`;
    if (listener.transport !== "udp" && listener.transport !== "tcp" && listener.transport !== "tls")
      fail(`${where}.transport`, 'must be "udp", "tcp" or "tls"');
    if (ipFamily(listener.address) === 0) fail(`${where}.address`, `must be an IP address (--listening-ip), got "${listener.address}"`);
    integer(`${where}.port`, listener.port, 0, 0, 65535);
  });
  const needsTls = options.listeners.some((listener) => listener.transport === "tls");
  if (needsTls && (!options.tls?.cert || !options.tls.key)) fail("tls", "a TLS listener needs tls.cert and tls.key (--cert, --pkey)");

  if (!Array.isArray(options.relayAddresses) || options.relayAddresses.length === 0)
    fail("relayAddresses", "at least one relay address is required (--relay-ip)");
  const external = options.externalAddress;
  if (external !== undefined && (ipFamily(external) === 0 || isUnspecified(external))) {
    fail("externalAddress", `must be a specific IP address (--external-ip), got "${external}"`);
  }
  const relayEndpoints = new Map<4 | 6, RelayEndpoint>();
  for (const address of options.relayAddresses) {
    const family = ipFamily(address);
    if (family === 0) fail("relayAddresses", `"${address}" is not an IP address (--relay-ip)`);
    if (relayEndpoints.has(family)) fail("relayAddresses", `at most one IPv${family} relay address, got several (--relay-ip)`);
    const reported = external !== undefined && ipFamily(external) === family ? external : address;
    if (isUnspecified(reported))
      fail("relayAddresses", `"${address}" is unspecified: set externalAddress (--external-ip) to the IPv${family} address peers reach`);
    relayEndpoints.set(family, { family, bindAddress: address, reportedAddress: canonicalIp(reported)!, reportedIp: parseIp(reported)! });
  }
  if (external !== undefined && !relayEndpoints.has(ipFamily(external) as 4 | 6)) {
    fail("externalAddress", `"${external}" has no relay address of its family (--relay-ip)`);
  }

  const minPort = integer("minPort", options.minPort, 49152, 1, 65535);
  const maxPort = integer("maxPort", options.maxPort, 65535, 1, 65535);
  if (minPort > maxPort) fail("minPort", `must not exceed maxPort (--min-port ${minPort} > --max-port ${maxPort})`);
  if (typeof options.auth !== "function") fail("auth", "an AuthHandler is required (--use-auth-secret / --user)");
  if (typeof options.peerPolicy !== "function") fail("peerPolicy", "a PeerPolicy is required (createPeerPolicy from peer-policy.ts)");
  if (options.quota !== undefined && typeof options.quota !== "function") fail("quota", "must be a QuotaHandler");

  const maxLifetimeSeconds = integer("maxLifetimeSeconds", options.maxLifetimeSeconds, 3600, 1, 86_400);
  const defaultLifetimeSeconds = integer("defaultLifetimeSeconds", options.defaultLifetimeSeconds, 600, 1, 86_400);
  if (defaultLifetimeSeconds > maxLifetimeSeconds) {
    fail("defaultLifetimeSeconds", `must not exceed maxLifetimeSeconds (${defaultLifetimeSeconds} > ${maxLifetimeSeconds})`);
  }
  return {
    realm: options.realm,
    software: options.software ?? "switchboard-turn",
    listeners: options.listeners,
    tls: needsTls && options.tls ? options.tls : null,
    relayEndpoints,
    minPort,
    maxPort,
    auth: options.auth,
    peerPolicy: options.peerPolicy,
    quota: options.quota ?? null,
    maxBytesPerSecond: integer("maxBytesPerSecond", options.maxBytesPerSecond, 0, 0, Number.MAX_SAFE_INTEGER),
    maxPermissionsPerAllocation: integer("maxPermissionsPerAllocation", options.maxPermissionsPerAllocation, 64, 1, 65_535),
    maxLifetimeSeconds,
    defaultLifetimeSeconds,
    maxAllocationAgeSeconds: integer("maxAllocationAgeSeconds", options.maxAllocationAgeSeconds, 0, 0, 365 * 86_400),
    nonceSecret: options.nonceSecret,
    nonceLifetimeSeconds: integer("nonceLifetimeSeconds", options.nonceLifetimeSeconds, 600, 1, 86_400),
    logger: options.logger ?? silentLogger,
    maxChannelNumber: options.legacyChannelNumbers === true ? LEGACY_MAX_CHANNEL_NUMBER : MAX_CHANNEL_NUMBER,
    udpIo: options.udpIo ?? dgramIo,
    clock: options.clock ?? Date.now,
  };
}
