/**
 * Weighted rendezvous (highest-random-weight) hashing. Every node scores the key independently and the
 * highest score wins, so any isolate with the same node list picks the same node for a room, and when a
 * node joins or leaves only the keys it wins or won move (Thaler & Ravishankar 1998).
 *
 * Weighting uses the logarithmic method: score = −w / ln(u), u = hash(node, key) ∈ (0, 1). The winner is
 * then node i with probability wᵢ / Σw exactly (Schindelhauer & Schomaker, "Weighted distributed hash
 * tables", 2005; also Resch, "New hashing algorithms for data storage"), unlike w·u, which is biased.
 */
import { unitHash } from "./hash.ts";

/** Something rendezvous hashing can pick: it needs a stable id. */
export interface RendezvousItem {
  id: string;
}

/** The weighted rendezvous score of `nodeId` for `key`; higher wins. `weight` must be positive. */
export function rendezvousScore(nodeId: string, key: string, weight: number): number {
  return -weight / Math.log(unitHash(nodeId, key));
}

/** The item with the highest weighted score for `key`; undefined when `items` is empty. */
export function rendezvousPick<T extends RendezvousItem>(items: readonly T[], key: string, weight: (item: T) => number): T | undefined {
  let best: T | undefined;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (const item of items) {
    const score = rendezvousScore(item.id, key, weight(item));
    // Ties (practically impossible with 53-bit hashes) go to the smaller id, so every isolate agrees.
    if (score > bestScore || (score === bestScore && best !== undefined && item.id < best.id)) {
      best = item;
      bestScore = score;
    }
  }
  return best;
}

/** `items` ordered by descending weighted score for `key` (the failover order of a room). */
export function rendezvousRank<T extends RendezvousItem>(items: readonly T[], key: string, weight: (item: T) => number): T[] {
  return items
    .map((item) => ({ item, score: rendezvousScore(item.id, key, weight(item)) }))
    .sort((a, b) => b.score - a.score || (a.item.id < b.item.id ? -1 : 1))
    .map((entry) => entry.item);
}
