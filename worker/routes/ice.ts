/** `GET /v1/ice`: ICE servers with short-lived TURN REST credentials. */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";

/** Routes mounted at /v1/ice. */
export const iceRoutes = new Hono<AppEnv>();
