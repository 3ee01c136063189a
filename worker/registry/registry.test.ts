import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { PRUNE_AFTER_TTLS, type Registry } from "./registry.ts";
import { heartbeat, testEnv, uniqueNodeId } from "./testing.ts";

// wrangler.toml: TURN_NODE_TTL_SECONDS = 15.
const TTL_MS = 15_000;
const BASE = Date.UTC(2030, 0, 1);

/** A registry object of its own, with its clock set to `BASE` (tests move it with setClock). */
async function freshRegistry(): Promise<DurableObjectStub<Registry>> {
  const namespace = testEnv.REGISTRY as DurableObjectNamespace<Registry>;
  const stub = namespace.get(namespace.idFromName(`registry-test-${crypto.randomUUID()}`));
  await setClock(stub, BASE);
  return stub;
}

async function setClock(stub: DurableObjectStub<Registry>, now: number): Promise<void> {
  await runInDurableObject(stub, (instance: Registry) => {
    instance.clock = () => now;
  });
}

describe("Registry heartbeats and liveness", () => {
  it("lists a node after its heartbeat, with what it declared", async () => {
    const registry = await freshRegistry();
    const id = uniqueNodeId();
    const outcome = await registry.heartbeat(
      heartbeat(id, { capacity: 500, load: { allocations: 50, bps: 1e6 }, location: { lat: 50.1, lon: 8.7 } }),
    );
    expect(outcome).toEqual({ ok: true, drain: false, ttlSeconds: 15 });

    const snapshot = await registry.snapshot();
    expect(snapshot.generatedAtMs).toBe(BASE);
    expect(snapshot.nodes).toEqual([
      expect.objectContaining({
        id,
        region: "eu-west",
        capacity: 500,
        allocations: 50,
        bps: 1e6,
        draining: false,
        lastSeenMs: BASE,
        location: { lat: 50.1, lon: 8.7 },
      }),
    ]);
    const [status] = await registry.list();
    expect(status).toMatchObject({ id, health: "live", live: true, draining: false, load: { allocations: 50, bps: 1e6, ratio: 0.1 } });
    expect(status?.lastSeen).toBe(new Date(BASE).toISOString());
  });

  it("drops a silent node from snapshots once its last heartbeat is older than the TTL, and the alarm prunes it later", async () => {
    const registry = await freshRegistry();
    const id = uniqueNodeId();
    await registry.heartbeat(heartbeat(id));

    await setClock(registry, BASE + TTL_MS);
    expect((await registry.snapshot()).nodes.map((node) => node.id)).toEqual([id]); // exactly at the TTL: still live

    await setClock(registry, BASE + TTL_MS + 1);
    expect((await registry.snapshot()).nodes).toEqual([]);
    expect(await registry.list()).toEqual([expect.objectContaining({ id, health: "down", live: false, secondsSinceLastSeen: 15 })]);

    // The alarm keeps a down record for PRUNE_AFTER_TTLS × TTL (operators still see it), then deletes it.
    expect(await runDurableObjectAlarm(registry)).toBe(true);
    expect((await registry.list()).map((node) => node.id)).toEqual([id]);
    await setClock(registry, BASE + PRUNE_AFTER_TTLS * TTL_MS + 1);
    expect(await runDurableObjectAlarm(registry)).toBe(true);
    expect(await registry.list()).toEqual([]);
    // Nothing left: no further alarm.
    expect(await runDurableObjectAlarm(registry)).toBe(false);
  });

  it("keeps a node live while heartbeats arrive and prunes only the silent one", async () => {
    const registry = await freshRegistry();
    const talker = uniqueNodeId("talker");
    const silent = uniqueNodeId("silent");
    await registry.heartbeat(heartbeat(talker));
    await registry.heartbeat(heartbeat(silent));
    for (let step = 1; step <= PRUNE_AFTER_TTLS + 1; step++) {
      await setClock(registry, BASE + step * TTL_MS);
      await registry.heartbeat(heartbeat(talker));
    }
    expect((await registry.snapshot()).nodes.map((node) => node.id)).toEqual([talker]);
    expect(await runDurableObjectAlarm(registry)).toBe(true);
    expect((await registry.list()).map((node) => node.id)).toEqual([talker]);
  });

  it("keeps records across a restart of the object (SQLite)", async () => {
    const registry = await freshRegistry();
    const id = uniqueNodeId();
    await registry.heartbeat(heartbeat(id));
    await registry.setDrain(id, true);
    await evictDurableObject(registry);
    // The new instance has the real clock again; the record is from 2030, so it is live in its view.
    const [status] = await registry.list();
    expect(status).toMatchObject({ id, drainRequested: true, lastSeen: new Date(BASE).toISOString() });
  });
});

describe("Registry drain and delete", () => {
  it("answers an operator's drain in the next heartbeat and leaves the node out of selection", async () => {
    const registry = await freshRegistry();
    const id = uniqueNodeId();
    await registry.heartbeat(heartbeat(id));
    expect(await registry.setDrain(id, true)).toMatchObject({ id, drainRequested: true, draining: true, health: "draining" });

    expect(await registry.heartbeat(heartbeat(id))).toMatchObject({ ok: true, drain: true });
    expect((await registry.snapshot()).nodes).toEqual([expect.objectContaining({ id, draining: true })]);

    expect(await registry.setDrain(id, false)).toMatchObject({ drainRequested: false, health: "live" });
    expect(await registry.heartbeat(heartbeat(id))).toMatchObject({ ok: true, drain: false });
    expect(await registry.setDrain(uniqueNodeId("missing"), true)).toBeNull();
  });

  it("marks a node that reports draining itself", async () => {
    const registry = await freshRegistry();
    const id = uniqueNodeId();
    await registry.heartbeat(heartbeat(id, { draining: true }));
    expect((await registry.snapshot()).nodes[0]?.draining).toBe(true);
    expect((await registry.list())[0]).toMatchObject({ health: "draining", selfDraining: true, drainRequested: false });
  });

  it("deletes a record, which a running node re-creates (without the drain request) on its next heartbeat", async () => {
    const registry = await freshRegistry();
    const id = uniqueNodeId();
    await registry.heartbeat(heartbeat(id));
    await registry.setDrain(id, true);
    expect(await registry.remove(id)).toBe(true);
    expect(await registry.list()).toEqual([]);
    expect(await registry.remove(id)).toBe(false);

    expect(await registry.heartbeat(heartbeat(id))).toMatchObject({ ok: true, drain: false });
    expect((await registry.list())[0]).toMatchObject({ id, drainRequested: false });
  });
});

describe("Registry refuses stale heartbeats", () => {
  it("refuses a sentAt further than the TTL from its clock, either way", async () => {
    const registry = await freshRegistry();
    const id = uniqueNodeId();
    expect(await registry.heartbeat(heartbeat(id, { sentAt: BASE - TTL_MS - 1 }))).toMatchObject({
      ok: false,
      status: 400,
      code: "stale_heartbeat",
      field: "sentAt",
    });
    expect(await registry.heartbeat(heartbeat(id, { sentAt: BASE + TTL_MS + 1 }))).toMatchObject({
      ok: false,
      status: 400,
      code: "stale_heartbeat",
    });
    expect(await registry.list()).toEqual([]);
    expect(await registry.heartbeat(heartbeat(id, { sentAt: BASE - TTL_MS }))).toMatchObject({ ok: true });
  });

  it("refuses a heartbeat older than one already accepted (out of order), keeping the newer load", async () => {
    const registry = await freshRegistry();
    const id = uniqueNodeId();
    expect(await registry.heartbeat(heartbeat(id, { sentAt: BASE, load: { allocations: 7, bps: 0 } }))).toMatchObject({ ok: true });
    expect(await registry.heartbeat(heartbeat(id, { sentAt: BASE - 1000, load: { allocations: 1, bps: 0 } }))).toMatchObject({
      ok: false,
      status: 409,
      code: "stale_heartbeat",
    });
    expect(await registry.heartbeat(heartbeat(id, { sentAt: BASE, load: { allocations: 1, bps: 0 } }))).toMatchObject({
      ok: false,
      status: 409,
    });
    expect((await registry.snapshot()).nodes[0]?.allocations).toBe(7);
    expect(await registry.heartbeat(heartbeat(id, { sentAt: BASE + 1, load: { allocations: 9, bps: 0 } }))).toMatchObject({ ok: true });
    expect((await registry.snapshot()).nodes[0]?.allocations).toBe(9);
  });
});
