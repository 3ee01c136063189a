/**
 * Keeps `/v1/ice` off the Registry: a snapshot of the live nodes is reused for ICE_SNAPSHOT_CACHE_SECONDS
 * (default min(5 s, TTL/3)) from the isolate's memory, and from the colo's Cache API so that the isolates
 * of one colo share one registry read. Freshness is judged by the snapshot's own `generatedAtMs`, so the
 * two layers together never serve a snapshot older than the limit, and liveness is re-checked against
 * each node's last heartbeat when the snapshot is used: caching delays the discovery of new nodes and
 * drains by at most the limit, and never keeps a dead node alive past its TTL.
 *
 * Concurrent misses in one isolate share one refresh. When the Registry cannot be reached, the last
 * snapshot is used (its nodes age out on their own) or, with none, the answer carries STUN only.
 * Cache API operations have no effect on `*.workers.dev` (Cloudflare docs, runtime-apis/cache): there only
 * the isolate layer works.
 */
import type { NodeSnapshot } from "../registry/snapshot.ts";

/** Where a snapshot came from, for tests and logs. */
export type SnapshotSource = "isolate" | "colo" | "registry" | "stale" | "none";

/** The result of reading the snapshot. */
export interface SnapshotRead {
  snapshot: NodeSnapshot | null;
  source: SnapshotSource;
}

/** The colo cache layer: a Cache (caches.default) and the internal URL the snapshot is stored under. */
export interface ColoCache {
  cache: Cache;
  key: string;
}

/** Options of a snapshot cache. */
export interface SnapshotCacheOptions {
  /** Oldest snapshot served, ms; 0 disables both layers (every request reads the Registry). */
  maxAgeMs: number;
  colo?: ColoCache;
  /** Clock in unix ms (tests pass their own). */
  clock?: () => number;
}

/** Two-level (isolate, colo) cache of registry snapshots. */
export class SnapshotCache {
  readonly #maxAgeMs: number;
  readonly #colo: ColoCache | undefined;
  readonly #clock: () => number;
  #current: NodeSnapshot | null = null;
  #refreshing: Promise<SnapshotRead> | null = null;

  constructor(options: SnapshotCacheOptions) {
    this.#maxAgeMs = options.maxAgeMs;
    this.#colo = options.maxAgeMs > 0 ? options.colo : undefined;
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * The freshest acceptable snapshot: from memory, else the colo cache, else `load()` (the Registry),
   * whose result is stored in both. `waitUntil` keeps the colo write alive after the answer is sent.
   */
  async get(load: () => Promise<NodeSnapshot>, waitUntil: (promise: Promise<unknown>) => void): Promise<SnapshotRead> {
    if (this.#current !== null && this.#isFresh(this.#current)) return { snapshot: this.#current, source: "isolate" };
    if (this.#refreshing === null) {
      this.#refreshing = this.#refresh(load, waitUntil).finally(() => {
        this.#refreshing = null;
      });
    }
    return this.#refreshing;
  }

  #isFresh(snapshot: NodeSnapshot): boolean {
    return this.#maxAgeMs > 0 && this.#clock() - snapshot.generatedAtMs < this.#maxAgeMs;
  }

  async #refresh(load: () => Promise<NodeSnapshot>, waitUntil: (promise: Promise<unknown>) => void): Promise<SnapshotRead> {
    const fromColo = await this.#readColo();
    if (fromColo !== null) {
      this.#current = fromColo;
      return { snapshot: fromColo, source: "colo" };
    }
    let snapshot: NodeSnapshot;
    try {
      snapshot = await load();
    } catch (error) {
      console.error(JSON.stringify({ level: "error", msg: "registry snapshot failed", error: String(error) }));
      return this.#current !== null ? { snapshot: this.#current, source: "stale" } : { snapshot: null, source: "none" };
    }
    this.#current = snapshot;
    if (this.#colo !== undefined) waitUntil(this.#writeColo(this.#colo, snapshot));
    return { snapshot, source: "registry" };
  }

  async #readColo(): Promise<NodeSnapshot | null> {
    if (this.#colo === undefined) return null;
    try {
      const response = await this.#colo.cache.match(this.#colo.key);
      if (!response) return null;
      const snapshot = (await response.json()) as NodeSnapshot;
      return typeof snapshot.generatedAtMs === "number" && Array.isArray(snapshot.nodes) && this.#isFresh(snapshot) ? snapshot : null;
    } catch {
      return null; // A broken cache entry is a miss, never an outage.
    }
  }

  async #writeColo(colo: ColoCache, snapshot: NodeSnapshot): Promise<void> {
    // Cache-Control max-age is whole seconds (at least 1); freshness is re-checked from generatedAtMs on read.
    const maxAgeSeconds = Math.max(1, Math.ceil(this.#maxAgeMs / 1000));
    const response = new Response(JSON.stringify(snapshot), {
      headers: { "content-type": "application/json", "cache-control": `max-age=${maxAgeSeconds}` },
    });
    try {
      await colo.cache.put(colo.key, response);
    } catch (error) {
      console.error(JSON.stringify({ level: "warn", msg: "colo snapshot cache write failed", error: String(error) }));
    }
  }
}
