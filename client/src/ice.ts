/**
 * ICE configuration from `GET /v1/ice`: short-lived TURN REST credentials, cached and renewed before
 * they expire so a long call never restarts ICE with stale credentials.
 */
import type { IceConfigResponse, IceServer } from "../../protocol/ice.ts";
import { errorFromResponse, SwitchboardError } from "./client-error.ts";
import { Emitter } from "./emitter.ts";
import { httpUrl, resolveToken, type TokenSource } from "./token-source.ts";

/** How to reach `/v1/ice`. Give a room `token` (browsers) or an `apiKey` (servers, bots). */
export interface IceRequestOptions {
  /** Worker origin, e.g. `https://switchboard.example.com` (a path prefix is kept). */
  baseUrl: string;
  /** Room token, or a function returning a fresh one. */
  token?: TokenSource;
  /** API key (server-side callers); sent like a token. */
  apiKey?: string;
  /** Room name: the registry picks TURN nodes per room (rendezvous hashing), so peers of a room share nodes. */
  room?: string;
  /** TURN node ids to avoid (a node that just failed). */
  exclude?: string | readonly string[];
  /** Ask for a shorter credential lifetime than the server's default, in seconds (the server's minimum is 60). */
  ttlSeconds?: number;
  /** fetch implementation (default: the global one). */
  fetch?: typeof fetch;
  /** Abort the request. */
  signal?: AbortSignal;
}

/** An ICE config as fetched, with the local times the client renews and stops trusting it. */
export interface IceConfig extends IceConfigResponse {
  /** Local clock (ms since epoch) when it was fetched. */
  fetchedAt: number;
  /** Local time (ms) after which `get()` fetches a fresh config. */
  renewAt: number;
  /** Local time (ms) the credentials expire (fetchedAt + ttl; the local clock avoids server clock skew). */
  expiresAtMs: number;
}

/** Default share of the ttl after which a config is renewed. */
export const DEFAULT_RENEW_FRACTION = 0.8;

/** Fetches one ICE config from `/v1/ice`. Throws SwitchboardError (problem `code`, or `network`). */
export async function getIceServers(options: IceRequestOptions): Promise<IceConfigResponse> {
  const url = httpUrl(options.baseUrl, "v1/ice");
  if (options.room) url.searchParams.set("room", options.room);
  const exclude = typeof options.exclude === "string" ? [options.exclude] : (options.exclude ?? []);
  if (exclude.length > 0) url.searchParams.set("exclude", exclude.join(","));
  if (options.ttlSeconds !== undefined) url.searchParams.set("ttl", String(options.ttlSeconds));
  const headers: Record<string, string> = { accept: "application/json" };
  const credential = options.apiKey ?? (options.token === undefined ? undefined : await resolveToken(options.token));
  if (credential) headers.authorization = `Bearer ${credential}`;
  let response: Response;
  try {
    // No `cache` option or cache-control header: answers carry `cache-control: no-store`, and an extra
    // request header would need CORS approval (the worker allows Authorization and Content-Type).
    response = await (options.fetch ?? fetch)(url, { headers, signal: options.signal });
  } catch (error) {
    throw new SwitchboardError("network", `could not reach ${url.origin}: ${String(error)}`);
  }
  if (!response.ok) throw await errorFromResponse(response, "bad_request");
  const body = (await response.json()) as Partial<IceConfigResponse>;
  if (!Array.isArray(body.iceServers) || typeof body.ttl !== "number") {
    throw new SwitchboardError("bad_request", "the /v1/ice answer lacks iceServers or ttl");
  }
  return body as IceConfigResponse;
}

/** Options of an IceConfigProvider. */
export interface IceConfigProviderOptions extends Omit<IceRequestOptions, "exclude" | "signal"> {
  /** Share of the ttl after which the config is renewed (default 0.8). */
  renewFraction?: number;
  /** How long a node passed to `renew({exclude})` stays excluded from later fetches (default 60 000 ms). */
  excludeForMs?: number;
  /** First delay before retrying a failed automatic renewal; doubles per failure up to 60 s (default 5 000 ms). */
  retryDelayMs?: number;
}

/** Events of an IceConfigProvider. */
export interface IceConfigEvents {
  [key: string]: unknown;
  /** A new config was fetched (first, renewed, or after an exclude): apply it with `setConfiguration`. */
  config: IceConfig;
  /** The server answered with a non-fatal warning, e.g. `no_turn_nodes` (no TURN relay available). */
  warning: { code: string; config: IceConfig };
  /** An automatic renewal failed (it is retried while the current credentials are still valid). */
  error: SwitchboardError;
}

/**
 * Caches `/v1/ice` answers and renews them at `renewFraction` of their ttl. `get()` gives the cached
 * config while it is fresh; `renew()` forces a fetch (optionally excluding a failed node); `start()`
 * renews automatically and emits `config`, so open peer connections can call `setConfiguration`.
 */
export class IceConfigProvider extends Emitter<IceConfigEvents> {
  readonly #options: IceConfigProviderOptions;
  readonly #renewFraction: number;
  readonly #excludeForMs: number;
  readonly #retryDelayMs: number;
  /** nodeId → local time (ms) until which it stays excluded. */
  readonly #excluded = new Map<string, number>();
  #current: IceConfig | undefined;
  /** The running fetch and the exclusion set it was made with (callers with the same set share it). */
  #inFlight: { exclusions: string; promise: Promise<IceConfig> } | undefined;
  /** Bumped whenever the exclusion set grows; the config remembers the generation it was fetched with. */
  #exclusionGeneration = 0;
  #currentGeneration = -1;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #failures = 0;

  constructor(options: IceConfigProviderOptions) {
    super();
    const renewFraction = options.renewFraction ?? DEFAULT_RENEW_FRACTION;
    if (!(renewFraction > 0 && renewFraction < 1)) throw new RangeError("renewFraction must be between 0 and 1 (exclusive)");
    this.#options = options;
    this.#renewFraction = renewFraction;
    this.#excludeForMs = options.excludeForMs ?? 60_000;
    this.#retryDelayMs = options.retryDelayMs ?? 5_000;
  }

  /** The last fetched config, if any (possibly stale: check `renewAt`). */
  get current(): IceConfig | undefined {
    return this.#current;
  }

  /** The cached config while it is fresh (before `renewAt`), otherwise a freshly fetched one. */
  get(): Promise<IceConfig> {
    const current = this.#current;
    if (current && Date.now() < current.renewAt) return Promise.resolve(current);
    return this.#fetch();
  }

  /**
   * Fetches a fresh config now. `exclude` marks nodes as failed: they are left out of this and later
   * fetches for `excludeForMs`, so another node is chosen without waiting for the registry to notice.
   */
  renew(options: { exclude?: string | readonly string[] } = {}): Promise<IceConfig> {
    const exclude = typeof options.exclude === "string" ? [options.exclude] : (options.exclude ?? []);
    const now = Date.now();
    let grew = false;
    for (const nodeId of exclude) {
      if (!this.#excluded.has(nodeId)) grew = true;
      this.#excluded.set(nodeId, now + this.#excludeForMs);
    }
    if (grew) this.#exclusionGeneration++;
    // Many connections fail together when a node dies: the first one's fetch serves the others, as long
    // as it was made after the failed node was excluded.
    const current = this.#current;
    if (exclude.length > 0 && current && this.#currentGeneration === this.#exclusionGeneration && now - current.fetchedAt < 5000) {
      return Promise.resolve(current);
    }
    return this.#fetch();
  }

  /** Starts automatic renewal (fetching now if there is no fresh config). Idempotent. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    if (this.#current && Date.now() < this.#current.renewAt) this.#schedule(this.#current.renewAt - Date.now());
    else this.#schedule(0);
  }

  /** Stops automatic renewal. */
  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Fetches with the current exclusions, sharing a running fetch made with the same ones. */
  #fetch(): Promise<IceConfig> {
    const exclusions = this.#activeExclusions().join(",");
    if (this.#inFlight?.exclusions === exclusions) return this.#inFlight.promise;
    const promise = this.#fetchNow(exclusions).finally(() => {
      if (this.#inFlight?.promise === promise) this.#inFlight = undefined;
    });
    this.#inFlight = { exclusions, promise };
    return promise;
  }

  #activeExclusions(): string[] {
    const now = Date.now();
    for (const [nodeId, until] of this.#excluded) if (until <= now) this.#excluded.delete(nodeId);
    return [...this.#excluded.keys()].sort();
  }

  async #fetchNow(exclusions: string): Promise<IceConfig> {
    let generation = this.#exclusionGeneration;
    let response: IceConfigResponse;
    try {
      response = await getIceServers({ ...this.#options, exclude: exclusions ? exclusions.split(",") : [] });
    } catch (error) {
      if (!(error instanceof SwitchboardError && error.code === "no_turn_nodes" && exclusions)) throw error;
      // Excluding left no node at all: the "failed" node is the only one, and a path through it beats none
      // (the failure may well have been elsewhere). Forget the exclusions and ask again.
      this.#excluded.clear();
      generation = ++this.#exclusionGeneration;
      response = await getIceServers({ ...this.#options, exclude: [] });
    }
    const fetchedAt = Date.now();
    const ttlMs = Math.max(0, response.ttl) * 1000;
    const config: IceConfig = {
      ...response,
      fetchedAt,
      // Renew no sooner than 1 s after fetching, whatever the ttl, so a tiny ttl cannot spin.
      renewAt: fetchedAt + Math.max(1000, ttlMs * this.#renewFraction),
      expiresAtMs: fetchedAt + ttlMs,
    };
    this.#current = config;
    this.#currentGeneration = generation;
    if (this.#running) this.#schedule(config.renewAt - fetchedAt);
    this.emit("config", config);
    for (const code of config.warnings ?? []) this.emit("warning", { code, config });
    return config;
  }

  #schedule(delayMs: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        if (!this.#running) return;
        this.#fetch().then(
          () => {
            this.#failures = 0;
          },
          (error: unknown) => {
            const failure = error instanceof SwitchboardError ? error : new SwitchboardError("network", String(error));
            this.emit("error", failure);
            this.#failures++;
            if (this.#running) this.#schedule(Math.min(60_000, this.#retryDelayMs * 2 ** (this.#failures - 1)));
          },
        );
      },
      Math.max(0, delayMs),
    );
  }
}

/**
 * Which TURN node a relay candidate belongs to: matches the candidate's server `url` (getStats
 * `RTCIceCandidateStats.url`) against the URLs of the config's primary and backup nodes.
 */
export function nodeIdForUrl(config: IceConfigResponse | undefined, url: string | undefined): string | undefined {
  if (!config || !url) return undefined;
  const normalized = normalizeIceUrl(url);
  const matches = (servers: readonly IceServer[]) =>
    servers.some((server) => server.urls.some((candidate) => normalizeIceUrl(candidate) === normalized));
  if (config.backup && matches(config.backup.iceServers)) return config.backup.nodeId;
  if (matches(config.iceServers)) return config.nodeId;
  return undefined;
}

function normalizeIceUrl(url: string): string {
  // Browsers report `turn:host:port?transport=udp` with or without the query; compare scheme, host and port.
  return url.trim().toLowerCase().split("?")[0] ?? "";
}
