/** The TURN node Registry Durable Object. */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env.ts";

/** Registry: live TURN nodes by heartbeat. */
export class Registry extends DurableObject<Env> {}
