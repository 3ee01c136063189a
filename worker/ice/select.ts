/**
 * Which TURN node a client gets: pure functions over a registry snapshot, so they run in any isolate
 * without the Registry and tests drive them directly.
 *
 * 1. Eligible: live (last heartbeat within the TTL, checked now, not when the snapshot was taken), not
 *    draining, not excluded by the client; nodes near full (allocations ≥ 90 % of declared capacity) are
 *    skipped while any other eligible node remains.
 * 2. Region affinity: the region of the nearest node that declared a location (great circle from the
 *    request's coordinates), else nodes whose region label starts with the client's country or continent
 *    code (`de-fra`, `eu-west-1`), else all eligible nodes.
 * 3. With a room: weighted rendezvous hashing on the room id, weighted by declared capacity — never by
 *    momentary load, which would move rooms on every heartbeat — so every peer of a room in one region
 *    gets the same node. Without a room: rendezvous on a random key weighted by capacity × free share,
 *    i.e. a weighted random choice. (Not "the least loaded node": the snapshot is cached for seconds,
 *    and an argmin would send every client of a colo to the same node until the next refresh.)
 * 4. Backup: the same choice again without the primary (the room's next node in rendezvous order, or
 *    the nearest other region when the primary's region has no second node).
 */
import type { SnapshotNode } from "../registry/snapshot.ts";
import { type ClientLocation, greatCircleKm } from "./geo.ts";
import { rendezvousPick } from "./rendezvous.ts";

/** A node at or above this share of its declared capacity gets no new clients while others have room. */
export const NEAR_FULL_RATIO = 0.9;
/** The weight of a node that declared no capacity (allocations). */
export const DEFAULT_NODE_CAPACITY = 1000;
/** Smallest free share used as a weight factor, so a busy node still gets a trickle of clients. */
const MIN_FREE_SHARE = 0.05;

/** What selection needs to know about one `/v1/ice` request. */
export interface SelectionRequest {
  /** Current time (unix ms), on the same clock as the snapshot's lastSeenMs. */
  nowMs: number;
  /** TURN_NODE_TTL_SECONDS: a node is live while nowMs − lastSeenMs ≤ this. */
  ttlSeconds: number;
  /** The room to co-locate; absent: any good node. */
  room?: string;
  /** Hash key used when there is no room (random per request). */
  randomKey: string;
  /** Node ids the client asked to skip (`?exclude=`). */
  exclude: ReadonlySet<string>;
  client: ClientLocation;
}

/** The chosen nodes; both absent when no node is eligible. */
export interface Selection {
  primary?: SnapshotNode;
  backup?: SnapshotNode;
}

/** A node-selection strategy: the default is `selectNodes`; tests and operators may plug in their own. */
export type NodeSelector = (nodes: readonly SnapshotNode[], request: SelectionRequest) => Selection;

/** True while the node's last heartbeat is within the TTL at `nowMs`. */
export function isLive(node: SnapshotNode, nowMs: number, ttlSeconds: number): boolean {
  return nowMs - node.lastSeenMs <= ttlSeconds * 1000;
}

/** True when the node declared a capacity and its allocations reached NEAR_FULL_RATIO of it. */
export function isNearFull(node: SnapshotNode): boolean {
  return node.capacity !== null && node.allocations >= NEAR_FULL_RATIO * node.capacity;
}

/** A room's weight: the declared capacity only, so rooms stay put while load moves. */
export function capacityWeight(node: SnapshotNode): number {
  return node.capacity ?? DEFAULT_NODE_CAPACITY;
}

/** A room-less client's weight: capacity × free share, favouring nodes with room to spare. */
export function headroomWeight(node: SnapshotNode): number {
  const capacity = capacityWeight(node);
  const freeShare = node.capacity === null ? 1 : Math.max(MIN_FREE_SHARE, 1 - node.allocations / node.capacity);
  return capacity * freeShare;
}

/** The nodes of the client's region (see the module comment); `nodes` itself when nothing narrows it. */
export function affinityGroup(nodes: readonly SnapshotNode[], client: ClientLocation): readonly SnapshotNode[] {
  if (nodes.length <= 1) return nodes;
  if (client.point) {
    let nearest: SnapshotNode | undefined;
    let nearestKm = Number.POSITIVE_INFINITY;
    for (const node of nodes) {
      if (!node.location) continue;
      const km = greatCircleKm(client.point, node.location);
      if (km < nearestKm || (km === nearestKm && nearest !== undefined && node.id < nearest.id)) {
        nearest = node;
        nearestKm = km;
      }
    }
    if (nearest) {
      const region = nearest.region;
      return nodes.filter((node) => node.region === region);
    }
  }
  for (const code of [client.country, client.continent]) {
    if (code === undefined) continue;
    const label = code.toLowerCase();
    const group = nodes.filter((node) => regionPrefix(node.region) === label);
    if (group.length > 0) return group;
  }
  return nodes;
}

// "eu-west-1" → "eu", "DE_fra" → "de", "fra" → "fra".
function regionPrefix(region: string): string {
  const lower = region.toLowerCase();
  const cut = lower.search(/[-_.\s]/);
  return cut === -1 ? lower : lower.slice(0, cut);
}

/** The default node selector: eligibility, region affinity, weighted rendezvous (module comment). */
export const selectNodes: NodeSelector = (nodes, request) => {
  const eligible = nodes.filter(
    (node) => !node.draining && !request.exclude.has(node.id) && isLive(node, request.nowMs, request.ttlSeconds),
  );
  const withRoom = eligible.filter((node) => !isNearFull(node));
  const pool = withRoom.length > 0 ? withRoom : eligible;
  const key = request.room ?? request.randomKey;
  const weight = request.room !== undefined ? capacityWeight : headroomWeight;

  const primary = rendezvousPick(affinityGroup(pool, request.client), key, weight);
  if (!primary) return {};
  let rest = pool.filter((node) => node !== primary);
  if (rest.length === 0) rest = eligible.filter((node) => node !== primary);
  const backup = rendezvousPick(affinityGroup(rest, request.client), key, weight);
  return backup ? { primary, backup } : { primary };
};
