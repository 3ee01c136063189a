/** TURN node registry routes: heartbeat (node token) and the operator API (admin token). */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";

/** Routes mounted at /v1/turn/nodes. */
export const turnNodeRoutes = new Hono<AppEnv>();
