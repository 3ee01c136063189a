/**
 * Worker configuration: every var parsed, defaulted and validated once per isolate (per env object).
 * A Worker has no start-up, so a bad setting surfaces on the first request as a 500 problem that
 * names the setting and the fix — never as a silent default.
 */
import { ErrorCode } from "../protocol/errors.ts";
import { parseSecretList } from "../protocol/turn-credentials.ts";
import type { Env } from "./env.ts";
import { ProblemError } from "./problem.ts";

/** Limits a Room enforces. */
export interface RoomConfig {
  maxPeersPerRoom: number;
  maxFrameBytes: number;
  ratePerSecond: number;
  rateBurst: number;
  maxQueuePerPeer: number;
  resumeGraceSeconds: number;
  emptyRoomTtlSeconds: number;
}

/** Settings of ICE config and the TURN node registry. */
export interface TurnConfig {
  nodeTtlSeconds: number;
  /** Host patterns (`*.example.com`) nodes may advertise; empty = any host. */
  nodeHosts: string[];
  /** ICE URLs used when no node is live (e.g. an existing coturn). */
  staticUrls: string[];
  /** STUN URLs added to every answer. */
  stunUrls: string[];
  iceTtlSeconds: number;
  /** How long /v1/ice reuses a registry snapshot (isolate and colo cache), seconds; 0 = ask the registry every time. */
  snapshotCacheSeconds: number;
  /** /v1/ice requests a client may make per minute (per isolate token bucket). */
  iceRatePerMinute: number;
  /** /v1/ice burst a client may make at once. */
  iceRateBurst: number;
}

/** Secret names, as `wrangler secret put` knows them. */
export type SecretName = "ROOM_TOKEN_SECRET" | "TURN_SECRETS" | "TURN_NODE_TOKEN" | "API_KEYS" | "ADMIN_TOKEN";

/** The validated configuration. */
export interface Config {
  environment: string;
  isDevelopment: boolean;
  corsOrigins: string[];
  room: RoomConfig;
  turn: TurnConfig;
  secrets: {
    roomTokenSecret?: string;
    turnSecrets: string[];
    /** TURN_NODE_TOKEN: a comma list, so the token rotates without a gap (nodes send any one). */
    nodeTokens: string[];
    apiKeys: string[];
    /** ADMIN_TOKEN: a comma list, so the operator token rotates without a gap. */
    adminTokens: string[];
  };
}

/** Maximum TURN credential lifetime: 48 h. */
export const MAX_ICE_TTL_SECONDS = 48 * 3600;

class ConfigError extends Error {
  readonly setting: string;
  constructor(setting: string, message: string) {
    super(message);
    this.setting = setting;
  }
}

function integer(env: Env, name: keyof Env, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (typeof raw !== "string" || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(
      name,
      `${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)}); fix it in wrangler.toml [vars]`,
    );
  }
  return value;
}

function list(value: string | undefined): string[] {
  return parseSecretList(value);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

/** Parses and validates `env`. Throws ConfigError naming the setting. */
export function parseConfig(env: Env): Config {
  const environment = nonEmpty(env.ENVIRONMENT) ?? "production";
  const nodeTtlSeconds = integer(env, "TURN_NODE_TTL_SECONDS", 15, 2, 3600);
  return {
    environment,
    isDevelopment: environment === "development",
    corsOrigins: list(env.CORS_ORIGINS),
    room: {
      maxPeersPerRoom: integer(env, "MAX_PEERS_PER_ROOM", 16, 2, 1000),
      maxFrameBytes: integer(env, "MAX_FRAME_BYTES", 65536, 1024, 1048576),
      ratePerSecond: integer(env, "RATE_LIMIT_PER_SECOND", 50, 1, 1_000_000),
      rateBurst: integer(env, "RATE_LIMIT_BURST", 200, 1, 1_000_000),
      maxQueuePerPeer: integer(env, "MAX_QUEUE_PER_PEER", 1000, 10, 100_000),
      resumeGraceSeconds: integer(env, "RESUME_GRACE_SECONDS", 30, 1, 3600),
      emptyRoomTtlSeconds: integer(env, "EMPTY_ROOM_TTL_SECONDS", 300, 1, 30 * 86400),
    },
    turn: {
      nodeTtlSeconds,
      nodeHosts: list(env.TURN_NODE_HOSTS),
      staticUrls: list(env.TURN_STATIC_URLS),
      stunUrls: list(env.STUN_URLS),
      iceTtlSeconds: integer(env, "ICE_TTL_SECONDS", 3600, 60, MAX_ICE_TTL_SECONDS),
      // Staleness must stay well under the node TTL: at most a third of it (5 s of the default 15 s).
      snapshotCacheSeconds: integer(
        env,
        "ICE_SNAPSHOT_CACHE_SECONDS",
        Math.min(5, Math.floor(nodeTtlSeconds / 3)),
        0,
        Math.floor(nodeTtlSeconds / 3),
      ),
      iceRatePerMinute: integer(env, "ICE_RATE_LIMIT_PER_MINUTE", 60, 1, 1_000_000_000),
      iceRateBurst: integer(env, "ICE_RATE_LIMIT_BURST", 20, 1, 1_000_000_000),
    },
    secrets: {
      roomTokenSecret: nonEmpty(env.ROOM_TOKEN_SECRET),
      turnSecrets: list(env.TURN_SECRETS),
      nodeTokens: list(env.TURN_NODE_TOKEN),
      apiKeys: list(env.API_KEYS),
      adminTokens: list(env.ADMIN_TOKEN),
    },
  };
}

const cache = new WeakMap<object, Config>();

/** The validated config for `env`, parsed once; throws a 500 `misconfigured` problem naming a bad setting. */
export function getConfig(env: Env): Config {
  const cached = cache.get(env);
  if (cached) return cached;
  try {
    const config = parseConfig(env);
    cache.set(env, config);
    return config;
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new ProblemError(500, ErrorCode.misconfigured, error.message, { setting: error.setting });
    }
    throw error;
  }
}

/**
 * Returns a secret's value or throws a 500 `misconfigured` problem naming it. No route falls back to a
 * default secret, in any environment: development gets its values from `.dev.vars`.
 */
export function requireSecret<T>(value: T | undefined, name: SecretName): T {
  if (value === undefined || (Array.isArray(value) && value.length === 0)) {
    throw new ProblemError(
      500,
      ErrorCode.misconfigured,
      `the ${name} secret is not set; set it with \`wrangler secret put ${name}\` (or in .dev.vars for local development)`,
      {
        setting: name,
      },
    );
  }
  return value;
}
