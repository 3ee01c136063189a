import { describe, expect, it } from "vitest";
import type { NodeSnapshot } from "../registry/snapshot.ts";
import { SnapshotCache } from "./snapshot-cache.ts";

const START = Date.UTC(2030, 0, 1);

/** A registry stand-in that counts reads and stamps snapshots with the test clock. */
function fakeRegistry(clock: () => number) {
  const registry = {
    reads: 0,
    fail: false,
    load: async (): Promise<NodeSnapshot> => {
      registry.reads += 1;
      if (registry.fail) throw new Error("registry unreachable");
      return { generatedAtMs: clock(), ttlSeconds: 15, nodes: [] };
    },
  };
  return registry;
}

async function coloCache() {
  return {
    cache: await caches.open(`snapshot-test-${crypto.randomUUID()}`),
    key: "https://switchboard.test/__switchboard/registry-snapshot/x",
  };
}

describe("SnapshotCache", () => {
  it("serves the isolate copy until it is maxAge old, judged by generatedAtMs", async () => {
    let now = START;
    const clock = () => now;
    const registry = fakeRegistry(clock);
    const cache = new SnapshotCache({ maxAgeMs: 5000, clock });
    const pending: Promise<unknown>[] = [];

    expect((await cache.get(registry.load, (p) => pending.push(p))).source).toBe("registry");
    now = START + 4999;
    expect((await cache.get(registry.load, (p) => pending.push(p))).source).toBe("isolate");
    expect(registry.reads).toBe(1);
    now = START + 5000;
    const refreshed = await cache.get(registry.load, (p) => pending.push(p));
    expect(refreshed.source).toBe("registry");
    expect(refreshed.snapshot?.generatedAtMs).toBe(START + 5000);
    expect(registry.reads).toBe(2);
  });

  it("shares one snapshot between isolates of a colo through the Cache API, never older than maxAge", async () => {
    let now = START;
    const clock = () => now;
    const registry = fakeRegistry(clock);
    const colo = await coloCache();
    const first = new SnapshotCache({ maxAgeMs: 5000, clock, colo });
    const second = new SnapshotCache({ maxAgeMs: 5000, clock, colo });
    const pending: Promise<unknown>[] = [];

    expect((await first.get(registry.load, (p) => pending.push(p))).source).toBe("registry");
    await Promise.all(pending);
    now = START + 3000;
    const shared = await second.get(registry.load, (p) => pending.push(p));
    expect(shared.source).toBe("colo");
    expect(shared.snapshot?.generatedAtMs).toBe(START);
    expect(registry.reads).toBe(1);

    // The colo copy is 5 s old now: a third isolate goes to the registry even though the Cache API still has it.
    now = START + 5000;
    const third = new SnapshotCache({ maxAgeMs: 5000, clock, colo });
    expect((await third.get(registry.load, (p) => pending.push(p))).source).toBe("registry");
    expect(registry.reads).toBe(2);
  });

  it("reads the registry once for concurrent misses", async () => {
    const clock = () => START;
    const registry = fakeRegistry(clock);
    const cache = new SnapshotCache({ maxAgeMs: 5000, clock });
    const reads = await Promise.all(Array.from({ length: 20 }, () => cache.get(registry.load, () => {})));
    expect(registry.reads).toBe(1);
    expect(new Set(reads.map((read) => read.snapshot))).toHaveProperty("size", 1);
  });

  it("with maxAge 0 reads the registry on every request and uses no colo cache", async () => {
    let now = START;
    const clock = () => now;
    const registry = fakeRegistry(clock);
    const colo = await coloCache();
    const cache = new SnapshotCache({ maxAgeMs: 0, clock, colo });
    const pending: Promise<unknown>[] = [];
    for (let index = 0; index < 3; index++) {
      now += 1;
      expect((await cache.get(registry.load, (p) => pending.push(p))).source).toBe("registry");
    }
    expect(registry.reads).toBe(3);
    expect(pending).toHaveLength(0);
    expect(await colo.cache.match(colo.key)).toBeUndefined();
  });

  it("falls back to the last snapshot, or to none, when the registry fails", async () => {
    let now = START;
    const clock = () => now;
    const registry = fakeRegistry(clock);
    const cache = new SnapshotCache({ maxAgeMs: 1000, clock });
    registry.fail = true;
    expect(await cache.get(registry.load, () => {})).toEqual({ snapshot: null, source: "none" });
    registry.fail = false;
    await cache.get(registry.load, () => {});
    registry.fail = true;
    now = START + 2000;
    const stale = await cache.get(registry.load, () => {});
    expect(stale.source).toBe("stale");
    expect(stale.snapshot?.generatedAtMs).toBe(START);
  });
});
