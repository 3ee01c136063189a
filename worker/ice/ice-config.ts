/**
 * Answers one `GET /v1/ice` request once the route has authenticated it: read the (cached) registry
 * snapshot, select a node and a backup locally, mint the TURN REST credential, build the answer.
 * The Registry is read at most once per ICE_SNAPSHOT_CACHE_SECONDS per isolate (and per colo through the
 * Cache API), never per request.
 */
import { mintTurnCredential } from "../../protocol/turn-credentials.ts";
import { type Config, requireSecret } from "../config.ts";
import type { Env } from "../env.ts";
import { registryId, registryStub } from "../registry/locate.ts";
import { type CfLocationFields, clientLocationFromCf } from "./geo.ts";
import { buildIceAnswer, type IceAnswerResult } from "./ice-answer.ts";
import type { IceQuery } from "./ice-query.ts";
import { type NodeSelector, selectNodes } from "./select.ts";
import { SnapshotCache, type SnapshotRead } from "./snapshot-cache.ts";

/** What the answer needs from the request besides the query. */
export interface IceRequestContext {
  env: Env;
  config: Config;
  /** Host name of the request (the colo cache key lives under it, as Cloudflare's Cache API docs advise). */
  host: string;
  cf: CfLocationFields | undefined;
  waitUntil: (promise: Promise<unknown>) => void;
  /** Who the credential is for: the room token's `sub`, or an API key's label. Never a secret. */
  user: string;
  /** Node selection strategy (default: region affinity + weighted rendezvous). */
  selector?: NodeSelector;
}

/** Path of the internal URL the snapshot is cached under in the colo (never served to clients). */
const SNAPSHOT_CACHE_PATH = "/__switchboard/registry-snapshot/";
/** Bound on cached SnapshotCache instances (one per registry, host and max age; normally one or two). */
const MAX_CACHES = 64;
const snapshotCaches = new Map<string, SnapshotCache>();
/** Registry id strings by namespace binding (idFromName hashes; once per isolate is enough). */
const registryIds = new WeakMap<object, string>();

/** The registry snapshot for this request, through the isolate and colo caches. */
export async function readSnapshot(context: IceRequestContext): Promise<SnapshotRead> {
  const { env, config, host } = context;
  let id = registryIds.get(env.REGISTRY);
  if (id === undefined) {
    id = registryId(env).toString();
    registryIds.set(env.REGISTRY, id);
  }
  const maxAgeMs = config.turn.snapshotCacheSeconds * 1000;
  const cacheKey = `${id}|${host}|${maxAgeMs}`;
  let cache = snapshotCaches.get(cacheKey);
  if (!cache) {
    if (snapshotCaches.size >= MAX_CACHES) snapshotCaches.clear();
    cache = new SnapshotCache({ maxAgeMs, colo: { cache: caches.default, key: `https://${host}${SNAPSHOT_CACHE_PATH}${id}` } });
    snapshotCaches.set(cacheKey, cache);
  }
  return cache.get(() => registryStub(env).snapshot(), context.waitUntil);
}

/** Builds the answer for an authenticated request. */
export async function resolveIceConfig(context: IceRequestContext, query: IceQuery): Promise<IceAnswerResult> {
  const { config } = context;
  const read = await readSnapshot(context);
  const nowMs = Date.now();
  const select = context.selector ?? selectNodes;
  const selection = read.snapshot
    ? select(read.snapshot.nodes, {
        nowMs,
        ttlSeconds: config.turn.nodeTtlSeconds,
        ...(query.room !== undefined ? { room: query.room } : {}),
        randomKey: Math.random().toString(36),
        exclude: query.exclude,
        client: clientLocationFromCf(context.cf),
      })
    : {};
  return buildIceAnswer({
    ...(selection.primary ? { primary: selection.primary } : {}),
    ...(selection.backup ? { backup: selection.backup } : {}),
    staticUrls: config.turn.staticUrls,
    stunUrls: config.turn.stunUrls,
    exclude: query.exclude,
    ttlSeconds: query.ttlSeconds,
    now: Math.floor(nowMs / 1000),
    // REST scheme: the first TURN_SECRETS entry signs; nodes accept every entry (rotation).
    mint: (ttlSeconds) =>
      mintTurnCredential(requireSecret(config.secrets.turnSecrets, "TURN_SECRETS")[0]!, context.user, ttlSeconds, Math.floor(nowMs / 1000)),
    warnings: read.source === "none" ? ["registry_unavailable"] : [],
  });
}
