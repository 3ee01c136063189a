/** Finds the one global Registry object (docs/decisions.md: one registry for all regions, not one per region). */
import type { Env } from "../env.ts";
import type { Registry } from "./registry.ts";

/** The name the global registry object is addressed by. */
export const REGISTRY_OBJECT_NAME = "global";

/** The registry's Durable Object id (also names its snapshot in the colo cache). */
export function registryId(env: Env): DurableObjectId {
  return env.REGISTRY.idFromName(REGISTRY_OBJECT_NAME);
}

/** An RPC stub of the global registry. */
export function registryStub(env: Env): DurableObjectStub<Registry> {
  return (env.REGISTRY as DurableObjectNamespace<Registry>).get(registryId(env));
}
