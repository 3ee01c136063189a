/** Bindings, vars and secrets the worker reads (wrangler.toml, `.dev.vars`, `wrangler secret put`). */
export interface Env {
  ROOMS: DurableObjectNamespace;
  REGISTRY: DurableObjectNamespace;
  ASSETS?: Fetcher;

  ENVIRONMENT?: string;
  CORS_ORIGINS?: string;
  MAX_PEERS_PER_ROOM?: string;
  MAX_FRAME_BYTES?: string;
  RATE_LIMIT_PER_SECOND?: string;
  RATE_LIMIT_BURST?: string;
  MAX_QUEUE_PER_PEER?: string;
  RESUME_GRACE_SECONDS?: string;
  EMPTY_ROOM_TTL_SECONDS?: string;
  TURN_NODE_TTL_SECONDS?: string;
  TURN_NODE_HOSTS?: string;
  TURN_STATIC_URLS?: string;
  STUN_URLS?: string;
  ICE_TTL_SECONDS?: string;
  ICE_SNAPSHOT_CACHE_SECONDS?: string;
  ICE_RATE_LIMIT_PER_MINUTE?: string;
  ICE_RATE_LIMIT_BURST?: string;

  // Secrets
  ROOM_TOKEN_SECRET?: string;
  TURN_SECRETS?: string;
  TURN_NODE_TOKEN?: string;
  API_KEYS?: string;
  ADMIN_TOKEN?: string;
}

/** Hono's environment type for every route of the worker. */
export interface AppEnv {
  Bindings: Env;
}
