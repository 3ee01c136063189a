/**
 * The Registry's view of the TURN nodes, as handed to `/v1/ice` (a snapshot of the live nodes) and to the
 * operator API (every record with its health). Plain data: it crosses Durable Object RPC and the Cache API.
 */

/** A point on Earth in degrees. */
export interface GeoPoint {
  lat: number;
  lon: number;
}

/** One node as `/v1/ice` sees it in a snapshot. */
export interface SnapshotNode {
  id: string;
  region: string;
  /** The full ICE URLs the node serves, as it advertised them. */
  urls: string[];
  /** Declared capacity in allocations; null when the node declared none. */
  capacity: number | null;
  /** Allocations at the last heartbeat. */
  allocations: number;
  /** Relayed bits per second at the last heartbeat. */
  bps: number;
  /** The node reported draining, or an operator asked it to drain: it gets no new clients. */
  draining: boolean;
  location: GeoPoint | null;
  /** Registry clock (unix ms) of the last accepted heartbeat; the node is live while now − lastSeenMs ≤ TTL. */
  lastSeenMs: number;
}

/** The live nodes at one moment, with the TTL that decides liveness when the snapshot is used later. */
export interface NodeSnapshot {
  /** Registry clock (unix ms) when the snapshot was taken. */
  generatedAtMs: number;
  ttlSeconds: number;
  nodes: SnapshotNode[];
}

/** A node's health in the operator API. */
export type NodeHealth = "live" | "draining" | "down";

/** One record in `GET /v1/turn/nodes`. */
export interface NodeStatus {
  id: string;
  region: string;
  urls: string[];
  capacity: number | null;
  load: { allocations: number; bps: number; ratio: number | null };
  location: GeoPoint | null;
  /** `down`: no heartbeat within TURN_NODE_TTL_SECONDS; `draining`: live but takes no new clients. */
  health: NodeHealth;
  live: boolean;
  draining: boolean;
  /** The node itself reported draining in its last heartbeat. */
  selfDraining: boolean;
  /** An operator asked the node to drain (answered in every heartbeat until the record is deleted or undrained). */
  drainRequested: boolean;
  /** ISO time of the last accepted heartbeat. */
  lastSeen: string;
  secondsSinceLastSeen: number;
  /** ISO time the registry first heard of this record. */
  firstSeen: string;
}
