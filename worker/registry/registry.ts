/**
 * The TURN node Registry Durable Object: one global object (docs/decisions.md) that records node
 * heartbeats in SQLite and answers snapshots of the live nodes.
 *
 * Liveness is computed when answering (last heartbeat within TURN_NODE_TTL_SECONDS), never stored, so a
 * silent node drops out exactly at its TTL without any timer. The alarm only deletes records nobody has
 * heard from for PRUNE_AFTER_TTLS × TTL, which keeps recently dead nodes visible to operators.
 * Records are mirrored in memory (loaded once per instance), so snapshots never read SQLite.
 */
import { DurableObject } from "cloudflare:workers";
import { ErrorCode } from "../../protocol/errors.ts";
import type { Heartbeat } from "../../protocol/ice.ts";
import { getConfig } from "../config.ts";
import type { Env } from "../env.ts";
import type { NodeSnapshot, NodeStatus, SnapshotNode } from "./snapshot.ts";

/** A silent node's record is pruned after this many TTLs (5 min at the default 15 s TTL). */
export const PRUNE_AFTER_TTLS = 20;

/** The outcome of a heartbeat: accepted (with the operator's drain request) or refused with a code. */
export type HeartbeatOutcome =
  | { ok: true; drain: boolean; ttlSeconds: number }
  | { ok: false; status: 400 | 409; code: ErrorCode; message: string; field?: string };

interface NodeRecord {
  id: string;
  region: string;
  urls: string[];
  capacity: number | null;
  allocations: number;
  bps: number;
  selfDraining: boolean;
  drainRequested: boolean;
  lat: number | null;
  lon: number | null;
  sentAt: number | null;
  firstSeenMs: number;
  lastSeenMs: number;
}

type NodeRow = {
  id: string;
  region: string;
  urls: string;
  capacity: number | null;
  allocations: number;
  bps: number;
  self_draining: number;
  drain_requested: number;
  lat: number | null;
  lon: number | null;
  sent_at: number | null;
  first_seen: number;
  last_seen: number;
};

const SCHEMA = `CREATE TABLE IF NOT EXISTS nodes (
  id TEXT PRIMARY KEY,
  region TEXT NOT NULL,
  urls TEXT NOT NULL,
  capacity INTEGER,
  allocations INTEGER NOT NULL,
  bps REAL NOT NULL,
  self_draining INTEGER NOT NULL,
  drain_requested INTEGER NOT NULL,
  lat REAL,
  lon REAL,
  sent_at INTEGER,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL
)`;

const UPSERT = `INSERT INTO nodes (id, region, urls, capacity, allocations, bps, self_draining, drain_requested, lat, lon, sent_at, first_seen, last_seen)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(id) DO UPDATE SET region = excluded.region, urls = excluded.urls, capacity = excluded.capacity,
  allocations = excluded.allocations, bps = excluded.bps, self_draining = excluded.self_draining,
  drain_requested = excluded.drain_requested, lat = excluded.lat, lon = excluded.lon, sent_at = excluded.sent_at,
  last_seen = excluded.last_seen`;

function fromRow(row: NodeRow): NodeRecord {
  return {
    id: row.id,
    region: row.region,
    urls: JSON.parse(row.urls) as string[],
    capacity: row.capacity,
    allocations: row.allocations,
    bps: row.bps,
    selfDraining: row.self_draining === 1,
    drainRequested: row.drain_requested === 1,
    lat: row.lat,
    lon: row.lon,
    sentAt: row.sent_at,
    firstSeenMs: row.first_seen,
    lastSeenMs: row.last_seen,
  };
}

/** Registry: live TURN nodes by heartbeat. */
export class Registry extends DurableObject<Env> {
  /** The registry's clock (unix ms). Tests replace it through runInDurableObject to age records. */
  clock: () => number = () => Date.now();
  readonly #nodes = new Map<string, NodeRecord>();
  /** When the prune alarm is set (ms), null when none, undefined until read from storage. */
  #alarmAt: number | null | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(SCHEMA);
    for (const row of ctx.storage.sql.exec<NodeRow>("SELECT * FROM nodes")) this.#nodes.set(row.id, fromRow(row));
  }

  #ttlMs(): number {
    return getConfig(this.env).turn.nodeTtlSeconds * 1000;
  }

  /** Records a heartbeat (already validated by the route) and answers whether an operator asked for a drain. */
  async heartbeat(beat: Heartbeat): Promise<HeartbeatOutcome> {
    const now = this.clock();
    const ttlMs = this.#ttlMs();
    const existing = this.#nodes.get(beat.id);
    if (beat.sentAt !== undefined) {
      const skewMs = now - beat.sentAt;
      if (Math.abs(skewMs) > ttlMs) {
        return {
          ok: false,
          status: 400,
          code: ErrorCode.staleHeartbeat,
          field: "sentAt",
          message: `sentAt is ${Math.round(Math.abs(skewMs) / 1000)} s ${skewMs > 0 ? "behind" : "ahead of"} the registry clock (at most ${ttlMs / 1000} s allowed); replayed, delayed, or the node's clock is off (check NTP)`,
        };
      }
      if (existing?.sentAt != null && beat.sentAt <= existing.sentAt) {
        return {
          ok: false,
          status: 409,
          code: ErrorCode.staleHeartbeat,
          field: "sentAt",
          message: "a heartbeat with the same or a later sentAt was already accepted; this one is out of order and was ignored",
        };
      }
    }
    const record: NodeRecord = {
      id: beat.id,
      region: beat.region,
      urls: beat.urls,
      capacity: beat.capacity ?? null,
      allocations: beat.load?.allocations ?? 0,
      bps: beat.load?.bps ?? 0,
      selfDraining: beat.draining ?? false,
      drainRequested: existing?.drainRequested ?? false,
      lat: beat.location?.lat ?? null,
      lon: beat.location?.lon ?? null,
      sentAt: beat.sentAt ?? null,
      firstSeenMs: existing?.firstSeenMs ?? now,
      lastSeenMs: now,
    };
    this.#write(record);
    await this.#ensureAlarm(now + ttlMs * PRUNE_AFTER_TTLS);
    return { ok: true, drain: record.drainRequested, ttlSeconds: ttlMs / 1000 };
  }

  /** The live nodes now (draining ones included, flagged): what `/v1/ice` selects from. */
  snapshot(): NodeSnapshot {
    const now = this.clock();
    const ttlMs = this.#ttlMs();
    const nodes: SnapshotNode[] = [];
    for (const record of this.#nodes.values()) {
      if (now - record.lastSeenMs > ttlMs) continue;
      nodes.push({
        id: record.id,
        region: record.region,
        urls: record.urls,
        capacity: record.capacity,
        allocations: record.allocations,
        bps: record.bps,
        draining: record.selfDraining || record.drainRequested,
        location: record.lat !== null && record.lon !== null ? { lat: record.lat, lon: record.lon } : null,
        lastSeenMs: record.lastSeenMs,
      });
    }
    return { generatedAtMs: now, ttlSeconds: ttlMs / 1000, nodes };
  }

  /** Every record with its health, for the operator API, ordered by id. */
  list(): NodeStatus[] {
    const now = this.clock();
    const ttlMs = this.#ttlMs();
    return [...this.#nodes.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((record) => status(record, now, ttlMs));
  }

  /** Sets or clears an operator's drain request; the node hears it in its next heartbeat answer. Null: no such node. */
  setDrain(id: string, drain: boolean): NodeStatus | null {
    const record = this.#nodes.get(id);
    if (!record) return null;
    record.drainRequested = drain;
    this.ctx.storage.sql.exec("UPDATE nodes SET drain_requested = ? WHERE id = ?", drain ? 1 : 0, id);
    return status(record, this.clock(), this.#ttlMs());
  }

  /** Forgets a node (and any drain request). A node still running registers again with its next heartbeat. */
  remove(id: string): boolean {
    if (!this.#nodes.delete(id)) return false;
    this.ctx.storage.sql.exec("DELETE FROM nodes WHERE id = ?", id);
    return true;
  }

  /** Prunes records silent for PRUNE_AFTER_TTLS × TTL and schedules the next prune while records remain. */
  override async alarm(): Promise<void> {
    const now = this.clock();
    const keepMs = this.#ttlMs() * PRUNE_AFTER_TTLS;
    let oldestKept = Number.POSITIVE_INFINITY;
    for (const record of [...this.#nodes.values()]) {
      if (now - record.lastSeenMs > keepMs) {
        this.#nodes.delete(record.id);
      } else {
        oldestKept = Math.min(oldestKept, record.lastSeenMs);
      }
    }
    this.ctx.storage.sql.exec("DELETE FROM nodes WHERE last_seen < ?", now - keepMs);
    this.#alarmAt = null;
    if (Number.isFinite(oldestKept)) await this.#ensureAlarm(Math.max(now + 1000, oldestKept + keepMs + 1));
  }

  #write(record: NodeRecord): void {
    this.#nodes.set(record.id, record);
    this.ctx.storage.sql.exec(
      UPSERT,
      record.id,
      record.region,
      JSON.stringify(record.urls),
      record.capacity,
      record.allocations,
      record.bps,
      record.selfDraining ? 1 : 0,
      record.drainRequested ? 1 : 0,
      record.lat,
      record.lon,
      record.sentAt,
      record.firstSeenMs,
      record.lastSeenMs,
    );
  }

  async #ensureAlarm(at: number): Promise<void> {
    if (this.#alarmAt === undefined) this.#alarmAt = await this.ctx.storage.getAlarm();
    if (this.#alarmAt !== null) return;
    await this.ctx.storage.setAlarm(at);
    this.#alarmAt = at;
  }
}

function status(record: NodeRecord, now: number, ttlMs: number): NodeStatus {
  const live = now - record.lastSeenMs <= ttlMs;
  const draining = record.selfDraining || record.drainRequested;
  return {
    id: record.id,
    region: record.region,
    urls: record.urls,
    capacity: record.capacity,
    load: {
      allocations: record.allocations,
      bps: record.bps,
      ratio: record.capacity ? Math.round((record.allocations / record.capacity) * 1000) / 1000 : null,
    },
    location: record.lat !== null && record.lon !== null ? { lat: record.lat, lon: record.lon } : null,
    health: !live ? "down" : draining ? "draining" : "live",
    live,
    draining,
    selfDraining: record.selfDraining,
    drainRequested: record.drainRequested,
    lastSeen: new Date(record.lastSeenMs).toISOString(),
    secondsSinceLastSeen: Math.max(0, Math.round((now - record.lastSeenMs) / 1000)),
    firstSeen: new Date(record.firstSeenMs).toISOString(),
  };
}
