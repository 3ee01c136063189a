/** The Room Durable Object: one per room name. */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env.ts";

/** Room: presence, relay and lossless signaling for one room. */
export class Room extends DurableObject<Env> {}
