/** Room routes: `GET /v1/rooms/:room/ws` (WebSocket) and `GET /v1/rooms/:room` (state). */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";

/** Routes mounted at /v1/rooms. */
export const roomRoutes = new Hono<AppEnv>();
