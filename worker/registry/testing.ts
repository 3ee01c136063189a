/**
 * Test helpers for the registry and /v1/ice (imported by tests only): an env whose REGISTRY binding
 * addresses a fresh registry object, so each test starts with no nodes, and heartbeat builders.
 */
import { env } from "cloudflare:test";
import type { Heartbeat } from "../../protocol/ice.ts";
import type { Env } from "../env.ts";

/** The test project's env (TEST_BINDINGS and wrangler.toml vars). */
export const testEnv = env as unknown as Env;

/**
 * `testEnv` plus `overrides`, with the snapshot cache off unless overridden and REGISTRY redirected to a
 * registry object of its own (the app still asks for the global name; this namespace answers with another).
 */
export function isolatedEnv(overrides: Partial<Env> = {}): Env {
  const namespace = testEnv.REGISTRY;
  const name = `test-registry-${crypto.randomUUID()}`;
  const REGISTRY = {
    idFromName: () => namespace.idFromName(name),
    idFromString: (id: string) => namespace.idFromString(id),
    get: (id: DurableObjectId) => namespace.get(id),
    newUniqueId: () => namespace.newUniqueId(),
    jurisdiction: () => namespace,
  } as unknown as DurableObjectNamespace;
  return { ...testEnv, ICE_SNAPSHOT_CACHE_SECONDS: "0", ...overrides, REGISTRY };
}

let counter = 0;

/** A node id nobody else in this test run uses. */
export function uniqueNodeId(prefix = "node"): string {
  counter += 1;
  return `${prefix}-${counter}-${crypto.randomUUID().slice(0, 8)}`;
}

/** A valid heartbeat for node `id` on host `<id>.turn.test`, with `extra` merged in. */
export function heartbeat(id: string, extra: Partial<Heartbeat> = {}): Heartbeat {
  const host = `${id.toLowerCase()}.turn.test`;
  return {
    id,
    region: "eu-west",
    urls: [`stun:${host}:3478`, `turn:${host}:3478?transport=udp`, `turn:${host}:3478?transport=tcp`, `turns:${host}:5349?transport=tcp`],
    capacity: 1000,
    load: { allocations: 0, bps: 0 },
    ...extra,
  };
}
