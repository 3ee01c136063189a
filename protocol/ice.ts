/**
 * ICE configuration and TURN node registry wire shapes, shared by the worker (`/v1/ice`,
 * `/v1/turn/nodes/heartbeat`), the TURN server's registry client and the browser client.
 */
import { z } from "zod";

/** A W3C RTCIceServer entry. */
export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

/** Answer of `GET /v1/ice`. */
export interface IceConfigResponse {
  iceServers: IceServer[];
  /** Seconds the credentials stay valid. */
  ttl: number;
  /** ISO time the credentials expire. */
  expiresAt: string;
  /** The TURN node whose URLs are in iceServers (absent when none). */
  nodeId?: string;
  /** A second node to use if the first fails (its own URLs and the same credentials). */
  backup?: { nodeId: string; iceServers: IceServer[] };
  /** Non-fatal problems, e.g. `no_turn_nodes`. */
  warnings?: string[];
}

/** Allowed schemes of advertised ICE URLs. */
export const ICE_URL_PATTERN = /^(stun|stuns|turn|turns):[^\s]+$/;

/** Body of `POST /v1/turn/nodes/heartbeat`. */
export const Heartbeat = z.object({
  id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "id must be 1–64 letters, digits, '.', '_' or '-'"),
  region: z.string().min(1).max(64),
  urls: z.array(z.string().regex(ICE_URL_PATTERN, "each url must be a stun:, stuns:, turn: or turns: URL")).min(1).max(8),
  capacity: z.number().int().positive().max(10_000_000).optional(),
  load: z
    .object({
      allocations: z.number().int().nonnegative(),
      bps: z.number().nonnegative(),
    })
    .optional(),
  draining: z.boolean().optional(),
  location: z.object({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) }).optional(),
  /**
   * When the node sent this heartbeat (unix ms). Optional; when present the registry refuses a heartbeat more than
   * TURN_NODE_TTL_SECONDS off its own clock, or not newer than the last one it accepted (`stale_heartbeat`).
   */
  sentAt: z.number().int().nonnegative().optional(),
});
export type Heartbeat = z.infer<typeof Heartbeat>;

/** Answer of a heartbeat: how often the registry expects the next one. */
export interface HeartbeatResponse {
  ok: true;
  ttlSeconds: number;
  /** True when an operator asked this node to drain via the admin API. */
  drain?: boolean;
  /** How often the registry wants heartbeats (a third of ttlSeconds, so two may be lost). */
  heartbeatIntervalSeconds?: number;
}
