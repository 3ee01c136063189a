import { describe, expect, it } from "vitest";
import { murmur32, unitHash } from "./hash.ts";
import { rendezvousPick, rendezvousRank } from "./rendezvous.ts";

interface TestNode {
  id: string;
  capacity: number;
}

const ROOMS = Array.from({ length: 10_000 }, (_, index) => `room-${index}`);

function nodes(capacities: number[]): TestNode[] {
  return capacities.map((capacity, index) => ({ id: `turn-${index + 1}.example.net`, capacity }));
}

function assign(pool: TestNode[]): Map<string, string> {
  const byRoom = new Map<string, string>();
  for (const room of ROOMS) byRoom.set(room, rendezvousPick(pool, room, (node) => node.capacity)!.id);
  return byRoom;
}

function counts(assignment: Map<string, string>): Map<string, number> {
  const result = new Map<string, number>();
  for (const id of assignment.values()) result.set(id, (result.get(id) ?? 0) + 1);
  return result;
}

describe("hash", () => {
  it("is MurmurHash3 x86_32 of the UTF-16LE bytes (vectors from an independent implementation; a change reshuffles every room)", () => {
    // Reference vectors of MurmurHash3 x86_32 on empty input (SMHasher).
    expect(murmur32("", 1)).toBe(0x514e28b7);
    expect(murmur32("", 0xffffffff)).toBe(0x81f16f39);
    // UTF-16LE bytes of these strings, hashed by a separate byte-wise implementation.
    expect(murmur32("ab", 0)).toBe(374890698);
    expect(murmur32("room-42", 0)).toBe(1735817180);
    expect(murmur32("turn-1", 0x2f0b3a49)).toBe(98956776);
    expect(murmur32("x", 7)).toBe(37562317);
  });

  it("maps to the open interval (0, 1) with a uniform-looking spread", () => {
    const buckets = new Array<number>(10).fill(0);
    for (const room of ROOMS) {
      const value = unitHash("node-a", room);
      expect(value).toBeGreaterThan(0);
      expect(value).toBeLessThan(1);
      buckets[Math.floor(value * 10)]! += 1;
    }
    for (const count of buckets) expect(Math.abs(count - 1000)).toBeLessThan(150);
  });
});

describe("weighted rendezvous hashing", () => {
  it("gives the same room the same node whatever the order of the node list", () => {
    const pool = nodes([100, 100, 100, 100, 100]);
    const reversed = [...pool].reverse();
    for (const room of ROOMS.slice(0, 500)) {
      expect(rendezvousPick(reversed, room, (node) => node.capacity)!.id).toBe(rendezvousPick(pool, room, (node) => node.capacity)!.id);
    }
  });

  it("spreads 10 000 rooms within ±10 % across equal-capacity nodes", () => {
    const pool = nodes([100, 100, 100, 100, 100]);
    const perNode = counts(assign(pool));
    expect(perNode.size).toBe(5);
    for (const count of perNode.values()) expect(Math.abs(count - 2000)).toBeLessThanOrEqual(200);
  });

  it("spreads rooms in proportion to declared capacity (±10 % of each share)", () => {
    const pool = nodes([100, 200, 300, 400]);
    const perNode = counts(assign(pool));
    pool.forEach((node, index) => {
      const expected = (10_000 * (index + 1)) / 10;
      expect(Math.abs((perNode.get(node.id) ?? 0) - expected)).toBeLessThanOrEqual(expected * 0.1);
    });
  });

  it("moves only the leaving node's rooms when a node leaves", () => {
    const pool = nodes([100, 200, 300, 100, 100]);
    const before = assign(pool);
    const leaving = pool[2]!.id;
    const after = assign(pool.filter((node) => node.id !== leaving));
    let moved = 0;
    for (const room of ROOMS) {
      if (before.get(room) === leaving) {
        moved += 1;
        expect(after.get(room)).not.toBe(leaving);
      } else {
        expect(after.get(room)).toBe(before.get(room));
      }
    }
    expect(moved).toBeGreaterThan(3000); // it had 3/8 of the rooms
  });

  it("moves only rooms to the joining node when a node joins (about its share)", () => {
    const pool = nodes([100, 100, 100, 100]);
    const joined = [...pool, { id: "turn-new.example.net", capacity: 100 }];
    const before = assign(pool);
    const after = assign(joined);
    let moved = 0;
    for (const room of ROOMS) {
      if (after.get(room) !== before.get(room)) {
        moved += 1;
        expect(after.get(room)).toBe("turn-new.example.net");
      }
    }
    expect(Math.abs(moved - 2000)).toBeLessThanOrEqual(200);
  });

  it("ranks nodes in failover order, the first being the pick", () => {
    const pool = nodes([100, 100, 100]);
    const ranked = rendezvousRank(pool, "room-7", (node) => node.capacity);
    expect(ranked).toHaveLength(3);
    expect(ranked[0]).toBe(rendezvousPick(pool, "room-7", (node) => node.capacity));
    // Without the first, the pick is the second of the ranking (what backup selection relies on).
    expect(
      rendezvousPick(
        pool.filter((node) => node !== ranked[0]),
        "room-7",
        (node) => node.capacity,
      ),
    ).toBe(ranked[1]);
    expect(rendezvousPick([], "room-7", () => 1)).toBeUndefined();
  });
});
