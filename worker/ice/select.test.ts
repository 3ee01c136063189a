import { describe, expect, it } from "vitest";
import type { SnapshotNode } from "../registry/snapshot.ts";
import { clientLocationFromCf, greatCircleKm } from "./geo.ts";
import { affinityGroup, isNearFull, type SelectionRequest, selectNodes } from "./select.ts";

const NOW = Date.UTC(2030, 0, 1);
const FRANKFURT = { lat: 50.11, lon: 8.68 };
const AMSTERDAM = { lat: 52.37, lon: 4.9 };
const VIRGINIA = { lat: 38.95, lon: -77.45 };
const SYDNEY = { lat: -33.87, lon: 151.21 };

function node(id: string, extra: Partial<SnapshotNode> = {}): SnapshotNode {
  return {
    id,
    region: "eu-central",
    urls: [`turn:${id}.test:3478`],
    capacity: 1000,
    allocations: 0,
    bps: 0,
    draining: false,
    location: null,
    lastSeenMs: NOW,
    ...extra,
  };
}

function request(extra: Partial<SelectionRequest> = {}): SelectionRequest {
  return { nowMs: NOW, ttlSeconds: 15, randomKey: "r", exclude: new Set(), client: {}, ...extra };
}

describe("geography", () => {
  it("measures great-circle distances", () => {
    expect(greatCircleKm(FRANKFURT, FRANKFURT)).toBe(0);
    // Frankfurt–Virginia is about 6 600 km.
    expect(Math.abs(greatCircleKm(FRANKFURT, VIRGINIA) - 6600)).toBeLessThan(150);
  });

  it("reads request.cf, falling back to the continent's centroid when coordinates are missing", () => {
    expect(clientLocationFromCf({ country: "de", continent: "EU", latitude: "50.11", longitude: "8.68" })).toEqual({
      country: "DE",
      continent: "EU",
      point: FRANKFURT,
    });
    expect(clientLocationFromCf({ country: "US", continent: "NA" }).point).toEqual({ lat: 40, lon: -100 });
    expect(clientLocationFromCf({ latitude: "nope", longitude: "8" })).toEqual({});
    expect(clientLocationFromCf(undefined)).toEqual({});
  });
});

describe("region affinity", () => {
  const eu1 = node("eu-1", { region: "eu-central", location: FRANKFURT });
  const eu2 = node("eu-2", { region: "eu-central", location: AMSTERDAM });
  const us1 = node("us-1", { region: "us-east", location: VIRGINIA });
  const us2 = node("us-2", { region: "us-east" }); // no location: joins its region's group
  const au1 = node("au-1", { region: "ap-southeast", location: SYDNEY });
  const all = [eu1, eu2, us1, us2, au1];

  it("takes the region of the nearest located node, including that region's unlocated nodes", () => {
    expect(affinityGroup(all, { point: { lat: 48.85, lon: 2.35 } }).map((n) => n.id)).toEqual(["eu-1", "eu-2"]);
    expect(affinityGroup(all, { point: { lat: 40.71, lon: -74.0 } }).map((n) => n.id)).toEqual(["us-1", "us-2"]);
    expect(affinityGroup(all, { point: { lat: -37.8, lon: 144.9 } }).map((n) => n.id)).toEqual(["au-1"]);
  });

  it("matches region labels by country, then continent, when no node has a location", () => {
    const labelled = [node("de-1", { region: "de-fra" }), node("eu-1", { region: "eu-west-1" }), node("us-1", { region: "us-east" })];
    expect(affinityGroup(labelled, { country: "DE", continent: "EU" }).map((n) => n.id)).toEqual(["de-1"]);
    expect(affinityGroup(labelled, { country: "FR", continent: "EU" }).map((n) => n.id)).toEqual(["eu-1"]);
    expect(affinityGroup(labelled, { country: "US", continent: "NA" }).map((n) => n.id)).toEqual(["us-1"]);
    // Nothing matches: every node is a candidate.
    expect(affinityGroup(labelled, { country: "JP", continent: "AS" })).toHaveLength(3);
  });

  it("sends clients from the same region and room to the same node, and another region elsewhere", () => {
    const berlin = request({ room: "standup", client: { point: { lat: 52.52, lon: 13.4 } } });
    const paris = request({ room: "standup", client: { point: { lat: 48.85, lon: 2.35 } } });
    const boston = request({ room: "standup", client: { point: { lat: 42.36, lon: -71.06 } } });
    const fromBerlin = selectNodes(all, berlin).primary!.id;
    expect(["eu-1", "eu-2"]).toContain(fromBerlin);
    expect(selectNodes(all, paris).primary!.id).toBe(fromBerlin);
    expect(["us-1", "us-2"]).toContain(selectNodes(all, boston).primary!.id);
  });

  it("falls back to the nearest other region when the client's region has no eligible node", () => {
    const berlin = { point: { lat: 52.52, lon: 13.4 } };
    const picked = selectNodes(all, request({ room: "r", client: berlin, exclude: new Set(["eu-1", "eu-2"]) }));
    expect(["us-1", "us-2"]).toContain(picked.primary!.id); // Virginia is nearer to Berlin than Sydney
  });
});

describe("eligibility", () => {
  it("leaves out nodes whose last heartbeat is older than the TTL at use time", () => {
    const fresh = node("fresh");
    const stale = node("stale", { lastSeenMs: NOW - 15_001 });
    for (let index = 0; index < 50; index++) {
      expect(selectNodes([fresh, stale], request({ room: `room-${index}` })).primary?.id).toBe("fresh");
    }
    expect(selectNodes([stale], request())).toEqual({});
  });

  it("gives draining and excluded nodes no clients", () => {
    const nodes = [node("a", { draining: true }), node("b"), node("c")];
    for (let index = 0; index < 50; index++) {
      const picked = selectNodes(nodes, request({ room: `room-${index}`, exclude: new Set(["c"]) }));
      expect(picked.primary?.id).toBe("b");
      expect(picked.backup).toBeUndefined();
    }
  });

  it("skips a node near full while another has room, but uses it rather than nothing", () => {
    const full = node("full", { capacity: 100, allocations: 90 });
    const roomy = node("roomy", { capacity: 100, allocations: 10 });
    expect(isNearFull(full)).toBe(true);
    expect(isNearFull(node("undeclared", { capacity: null, allocations: 1e6 }))).toBe(false);
    for (let index = 0; index < 50; index++) {
      const picked = selectNodes([full, roomy], request({ room: `room-${index}` }));
      expect(picked.primary?.id).toBe("roomy");
      expect(picked.backup?.id).toBe("full");
    }
    expect(selectNodes([full], request()).primary?.id).toBe("full");
  });
});

describe("backup and room-less selection", () => {
  it("names a different backup node, stable for the room", () => {
    const nodes = [node("a"), node("b"), node("c")];
    const first = selectNodes(nodes, request({ room: "standup" }));
    expect(first.backup).toBeDefined();
    expect(first.backup!.id).not.toBe(first.primary!.id);
    expect(selectNodes([...nodes].reverse(), request({ room: "standup" }))).toEqual(first);
    // When the primary is excluded (the client lost it), the old backup becomes the primary.
    expect(selectNodes(nodes, request({ room: "standup", exclude: new Set([first.primary!.id]) })).primary).toEqual(first.backup);
  });

  it("without a room, favours the node with more free capacity (weighted random, not argmin)", () => {
    const busy = node("busy", { capacity: 1000, allocations: 800 });
    const idle = node("idle", { capacity: 1000, allocations: 0 });
    const picks = new Map<string, number>();
    for (let index = 0; index < 3000; index++) {
      const id = selectNodes([busy, idle], request({ randomKey: `k${index}` })).primary!.id;
      picks.set(id, (picks.get(id) ?? 0) + 1);
    }
    // Weights 1000 × 0.2 and 1000 × 1.0: the idle node gets about 5/6 of new clients, the busy one some.
    expect(picks.get("idle")! / 3000).toBeGreaterThan(0.78);
    expect(picks.get("idle")! / 3000).toBeLessThan(0.88);
  });
});
